import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { createPlinthClient } from "@plinth/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { servingUrl, stopServer } from "./support/server-process.ts";

// docs/writing-a-plugin.md, executed: every block marked `file=<path>` is
// written into a fresh package, every `sh` block is run, in order.
const repo = join(import.meta.dirname, "../../..");
const guide = readFileSync(join(repo, "docs/writing-a-plugin.md"), "utf8");
const shownFolder = "examples/plugin-greeting";
// A hidden name: no other test run or tool takes the half-made package for a workspace project.
const folder = `examples/.guide-plugin-greeting-${process.pid}`;
const packageDir = join(repo, folder);

interface Block {
  lang: string;
  file?: string;
  body: string;
}

const blocks: Block[] = [...guide.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)].map((match) => {
  const file = /file=(\S+)/.exec(match[2] ?? "")?.[1];
  return { lang: match[1] ?? "", body: match[3] ?? "", ...(file ? { file } : {}) };
});
// Up to the API reference: that part shows shapes, not steps.
const steps = blocks.slice(
  0,
  blocks.findIndex((block) => block.body.includes("interface ResourceTypes")),
);
const commands = steps.filter((block) => block.lang === "sh").map((block) => block.body.trim());

/** The environment of a fresh shell: nothing of this vitest run leaks into the one the guide starts. */
function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && key !== "NODE_OPTIONS"),
  );
}

describe("docs/writing-a-plugin.md, run step by step", { timeout: 300_000 }, () => {
  afterAll(() => {
    rmSync(packageDir, { recursive: true, force: true });
  });

  it("shows the files and commands the test runs", () => {
    expect(steps.filter((block) => block.file).map((block) => block.file)).toEqual([
      "package.json",
      "vitest.config.ts",
      "src/index.ts",
      "test/greeting-program.test.ts",
      "test/contract.test.ts",
      "plinth.yaml",
    ]);
    expect(commands).toEqual([
      `mkdir -p ${shownFolder}/src ${shownFolder}/test\ncd ${shownFolder}`,
      "pnpm exec vitest run",
      "node --import tsx ../../packages/core/src/main.ts --config plinth.yaml",
    ]);
  });

  it("makes the package, whose tests (program unit test and contract suite) pass", () => {
    rmSync(packageDir, { recursive: true, force: true });
    execFileSync("bash", ["-c", commands[0]!.replaceAll(shownFolder, folder)], { cwd: repo, env: shellEnv() });
    expect(existsSync(join(packageDir, "src"))).toBe(true);
    for (const block of steps.filter((b) => b.file)) {
      mkdirSync(dirname(join(packageDir, block.file!)), { recursive: true });
      writeFileSync(join(packageDir, block.file!), block.body);
    }
    // Instead of `pnpm install`: the example package has the same dependencies, installed.
    const shown = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    const example = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    expect(example.dependencies).toMatchObject(shown.dependencies ?? {});
    expect(example.devDependencies).toMatchObject(shown.devDependencies ?? {});
    symlinkSync(join(import.meta.dirname, "../node_modules"), join(packageDir, "node_modules"));

    const output = stripVTControlCharacters(
      execFileSync("bash", ["-c", `${commands[1]!} 2>&1`], {
        cwd: packageDir,
        env: shellEnv(),
        encoding: "utf8",
      }),
    );
    expect(output).toMatch(/Test Files\s+2 passed/);
    expect(output).toMatch(/demo\.greeting plugin contract/);
  });

  it("starts a service that loads the plugin by path from plinth.yaml", async () => {
    const server = spawn("bash", ["-c", `exec ${commands[2]!}`], { cwd: packageDir, env: shellEnv() });
    try {
      const url = await servingUrl(server, "the guide's service");
      const client = createPlinthClient({ baseUrl: url, token: "dev-requester" });
      const { plugins } = await client.plugins.listPlugins({});
      expect(plugins.map((plugin) => plugin.type)).toEqual(["demo.greeting"]);
    } finally {
      await stopServer(server);
    }
  });
});
