import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { createPlinthClient } from "@plinth/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { servingUrl, stopServer } from "./support/server-process.ts";

// docs/writing-a-plugin.md, executed: every block marked `file=<path>` is
// written into a fresh package in an empty folder outside the workspace, every
// `sh` block is run, in order.
const repo = join(import.meta.dirname, "../../..");
const guide = readFileSync(join(repo, "docs/writing-a-plugin.md"), "utf8");
// Under the run's scratch directory (the global teardown stops what is left running there), far from
// the workspace: pnpm must not take the package for one of its projects.
const root = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "guide-"));
const packageDir = join(root, "plugin-greeting");

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
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && key !== "NODE_OPTIONS"),
    ),
    PLINTH: repo,
  };
}

/** Runs a step of the guide; a failure says what it printed (the tail: a contract suite prints a lot). */
function run(command: string, cwd: string): string {
  try {
    return stripVTControlCharacters(
      execFileSync("bash", ["-c", `set -e\n{\n${command}\n} 2>&1`], {
        cwd,
        env: shellEnv(),
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      }),
    );
  } catch (error) {
    const printed = stripVTControlCharacters(String((error as { stdout?: unknown }).stdout ?? ""));
    throw new Error(`the guide's step failed:\n${command}\n--- it printed (tail):\n${printed.slice(-6_000)}`, {
      cause: error,
    });
  }
}

describe("docs/writing-a-plugin.md, run step by step from an empty folder", () => {
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("shows the files and commands the test runs", () => {
    expect(steps.filter((block) => block.file).map((block) => block.file)).toEqual([
      "package.json",
      "pnpm-workspace.yaml",
      "tsconfig.json",
      "vitest.config.ts",
      "src/index.ts",
      "test/greeting-program.test.ts",
      "test/contract.test.ts",
      "plinth.yaml",
    ]);
    expect(commands).toHaveLength(4);
    expect(commands[0]).toMatch(/^export PATH=.*\nmkdir plugin-greeting && cd plugin-greeting\n/);
    expect(commands[0]).toContain('bash "$PLINTH/scripts/pack-plugin-kit.sh" vendor');
    expect(commands.slice(1)).toEqual([
      "pnpm install",
      "pnpm exec tsc\npnpm exec vitest run",
      "pnpm exec plinth-server --config plinth.yaml",
    ]);
  });

  it(
    "packs Plinth's packages, installs them offline, and the package type-checks and passes its tests",
    { timeout: 900_000 },
    () => {
      run(commands[0]!, root);
      expect(existsSync(join(packageDir, "src"))).toBe(true);
      for (const name of ["core", "testing", "sdk", "console"]) {
        expect(existsSync(join(packageDir, `vendor/plinth-${name}-0.1.0.tgz`))).toBe(true);
      }
      for (const block of steps.filter((b) => b.file)) {
        mkdirSync(dirname(join(packageDir, block.file!)), { recursive: true });
        writeFileSync(join(packageDir, block.file!), block.body);
      }
      // The guide's own install, kept from reaching any registry: everything comes from pnpm's store,
      // where `make setup` put the workspace's packages. pnpm prefers the versions a lockfile already
      // names, so seeded with the workspace's it picks those, not newer ones its cached metadata lists.
      // That seed is not this package's lockfile (no overrides), so the install must be free to rewrite it:
      // under CI=true pnpm would otherwise insist on it as it is.
      copyFileSync(join(repo, "pnpm-lock.yaml"), join(packageDir, "pnpm-lock.yaml"));
      const installed = run(`${commands[1]!} --offline --no-frozen-lockfile`, packageDir);
      expect(installed).toMatch(/\+ @plinth\/core 0\.1\.0/);
      // Compiled, not the workspace's TypeScript: the tarball ships dist/ and no sources.
      const core = join(packageDir, "node_modules/@plinth/core");
      expect(existsSync(join(core, "dist/index.d.ts"))).toBe(true);
      expect(existsSync(join(core, "src"))).toBe(false);

      const output = run(commands[2]!, packageDir);
      expect(output).toMatch(/Test Files\s+2 passed/);
      expect(output).toMatch(/demo\.greeting plugin contract/);
      expect(output).toMatch(/converges after the update/);
    },
  );

  it(
    "starts the installed server, which loads the plugin by package name from plinth.yaml",
    { timeout: 120_000 },
    async () => {
      const server = spawn("bash", ["-c", `exec ${commands[3]!}`], { cwd: packageDir, env: shellEnv() });
      try {
        const url = await servingUrl(server, "the guide's service");
        const client = createPlinthClient({ baseUrl: url, token: "dev-requester" });
        const { plugins } = await client.plugins.listPlugins({});
        expect(plugins.map((plugin) => plugin.type)).toEqual(["demo.greeting"]);
      } finally {
        await stopServer(server);
      }
    },
  );
});
