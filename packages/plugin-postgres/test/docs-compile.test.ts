import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, expect, it } from "vitest";

// The docs' code blocks marked "```ts compile" are type-checked against the real
// packages, so an example that stopped matching the API fails here.
const repo = join(import.meta.dirname, "../../..");
const docs = ["docs/writing-a-plugin.md", "docs/postgres.md"];
// Inside this package, so @plinth/*, zod and the package's own exports resolve as for its sources.
const dir = join(import.meta.dirname, `../.doc-snippets-${process.pid}`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("compiles every ts compile block of the plugin docs", { timeout: 300_000 }, () => {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const doc of docs) {
    const text = readFileSync(join(repo, doc), "utf8");
    const blocks = [...text.matchAll(/^```ts compile\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "");
    expect(blocks.length, `${doc} has compile blocks`).toBeGreaterThan(0);
    blocks.forEach((body, index) => {
      const file = join(dir, `${doc.replace(/\W/g, "-")}-${index}.ts`);
      // A module of its own: top-level await and names of one block do not meet another's.
      writeFileSync(file, `${body}\nexport {};\n`);
      files.push(file);
    });
  }
  const base = ts.readConfigFile(join(repo, "tsconfig.base.json"), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, repo);
  const program = ts.createProgram(files, options);
  const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file
      ? `${diagnostic.file.fileName.slice(dir.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}`
      : "";
    return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
  });
  expect(problems).toEqual([]);
});
