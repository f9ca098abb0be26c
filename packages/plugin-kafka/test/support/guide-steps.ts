import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stripVTControlCharacters } from "node:util";

/** One fenced block of a guide: its language, the file it is (`file=<path>` after the language), its text. */
export interface GuideBlock {
  lang: string;
  file?: string;
  body: string;
}

/** The fenced blocks of a Markdown guide, in order. */
export function guideBlocks(markdown: string): GuideBlock[] {
  return [...markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)].map((match) => {
    const file = /file=(\S+)/.exec(match[2] ?? "")?.[1];
    return { lang: match[1] ?? "", body: match[3] ?? "", ...(file ? { file } : {}) };
  });
}

/** The environment of a fresh shell: nothing of this Vitest run leaks into what the guide starts. */
export function shellEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !key.startsWith("VITEST") && key !== "NODE_OPTIONS" && key !== "NODE_PATH",
      ),
    ),
    ...extra,
  };
}

/**
 * Runs a guide's shell step with bash, without blocking this process (the server under test may live in it),
 * calling `onOutput` with everything printed so far; rejects with the output's tail if it fails.
 */
export async function runStep(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  onOutput: (printed: string) => void = () => {},
): Promise<string> {
  const child = spawn("bash", ["-c", `set -e\n${command}`], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let printed = "";
  const collect = (chunk: Buffer) => {
    printed += stripVTControlCharacters(chunk.toString());
    onOutput(printed);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) {
    throw new Error(
      `the guide's step failed (exit ${code}):\n${command}\n--- it printed (tail):\n${printed.slice(-6_000)}`,
    );
  }
  return printed;
}

/** What the snippets of each doc take as given (they are fragments of a service): declared, so tsc checks the rest. */
const snippetContext: Record<string, string> = {
  "docs/kafka.md": [
    'import { Producer, stringSerializers } from "@platformatic/kafka";',
    'declare const spec: Sdk.SpecOf<"kafka.user">;',
    "declare const revealed: string;",
  ].join("\n"),
  "docs/postgres.md": "",
  "docs/notifications.md": 'declare const spec: Sdk.SpecOf<"kafka.topic">;',
};

/**
 * Writes every TypeScript block of the docs for service authors into `<dir>/snippets`, one module each, as a
 * service sees them: with `@plinth/resource-types` (the plugins' own type exports are the same declarations,
 * for code inside the workspace) and a `client`. Returns how many; `tsc -p snippets` then checks them.
 */
export function writeDocSnippets(repo: string, dir: string): number {
  mkdirSync(join(dir, "snippets"), { recursive: true });
  let count = 0;
  for (const [doc, context] of Object.entries(snippetContext)) {
    const text = readFileSync(join(repo, doc), "utf8");
    for (const [, body] of text.matchAll(/^```ts(?: compile)?\n([\s\S]*?)^```$/gm)) {
      const preamble = [
        'import type * as Sdk from "@plinth/sdk";',
        'import type {} from "@plinth/resource-types";',
        body!.includes("const client") ? "" : "declare const client: Sdk.PlinthClient;",
        context,
      ];
      const service = body!.replaceAll(
        /"@plinth\/plugin-(kafka|postgres)\/resource-types"/g,
        '"@plinth/resource-types"',
      );
      writeFileSync(
        join(dir, "snippets", `${basename(doc, ".md")}-${count++}.ts`),
        `${preamble.join("\n")}\n${service}\nexport {};\n`,
      );
    }
  }
  writeFileSync(join(dir, "snippets/tsconfig.json"), JSON.stringify({ extends: "../tsconfig.json", include: ["."] }));
  return count;
}
