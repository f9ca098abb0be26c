import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { expect, it } from "vitest";

// The contract suite has teeth: run on a plugin with known bugs (in its own
// vitest process), exactly the checks those bugs break fail, and nothing else.
it("fails a plugin whose defaults are not idempotent, whose identity is unstable, that accepts a bad spec and misnames a field", () => {
  const dir = join(import.meta.dirname, "fixtures/buggy-plugin");
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));
  const run = spawnSync(process.execPath, [join(import.meta.dirname, "../node_modules/vitest/vitest.mjs"), "run"], {
    cwd: dir,
    env,
    encoding: "utf8",
  });
  const output = stripVTControlCharacters(run.stdout + run.stderr);
  expect(run.status).toBe(1);
  const failed = [...output.matchAll(/FAIL\s+buggy\.contract\.ts > buggy\.counter plugin contract > (.+)$/gm)].map(
    (match) => match[1],
  );
  expect(failed.sort()).toEqual([
    "defaults and identity > defaults are idempotent and parse again: a counter",
    "defaults and identity > identity survives an edit: a new label",
    'spec > refuses a bad label, naming "label"',
    'spec > refuses a negative start, naming "start"',
  ]);
  expect(output).toMatch(/buggy\.contract\.ts \(7 tests \| 4 failed\)/);
  expect(output).toContain("a violation's field is the path inside the spec");
});
