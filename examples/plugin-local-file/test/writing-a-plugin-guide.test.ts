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

/** A guide's fenced blocks, in order: `sh` blocks are run, blocks marked `file=<path>` are written. */
function blocksOf(text: string): Block[] {
  return [...text.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)].map((match) => {
    const file = /file=(\S+)/.exec(match[2] ?? "")?.[1];
    return { lang: match[1] ?? "", body: match[3] ?? "", ...(file ? { file } : {}) };
  });
}
const blocks = blocksOf(guide);
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

/** Runs a step of the guide: whether it succeeded, and what it printed. */
function attempt(command: string, cwd: string): { ok: boolean; printed: string } {
  try {
    const printed = execFileSync("bash", ["-c", `set -e\n{\n${command}\n} 2>&1`], {
      cwd,
      env: shellEnv(),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, printed: stripVTControlCharacters(printed) };
  } catch (error) {
    return { ok: false, printed: stripVTControlCharacters(String((error as { stdout?: unknown }).stdout ?? "")) };
  }
}

/** Runs a step of the guide; a failure says what it printed (the tail: a contract suite prints a lot). */
function run(command: string, cwd: string): string {
  const { ok, printed } = attempt(command, cwd);
  if (!ok) throw new Error(`the guide's step failed:\n${command}\n--- it printed (tail):\n${printed.slice(-6_000)}`);
  return printed;
}

// After both guides: docs/provider-packages.md continues in the package this guide builds.
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("docs/writing-a-plugin.md, run step by step from an empty folder", () => {
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

// docs/provider-packages.md, executed in the package the guide above built (its packed Plinth packages and
// install are reused): a kafka.quota plugin on @pulumi/kafka's Quota, with the contract suite against a real
// broker. Then the trap the guide warns of is planted (Pulumi's default replace, create before delete) and
// the suite must fail it.
describe("docs/provider-packages.md, run in the guide's package", () => {
  const providerGuide = readFileSync(join(repo, "docs/provider-packages.md"), "utf8");
  const providerBlocks = blocksOf(providerGuide);
  const files = providerBlocks.filter((block) => block.file);
  const providerCommands = providerBlocks.filter((block) => block.lang === "sh").map((block) => block.body.trim());
  const pinned = /^PULUMI_KAFKA_VERSION=(\S+)$/m.exec(readFileSync(join(repo, "toolchain/versions.env"), "utf8"))?.[1];
  const plugin = join(packageDir, "src/kafka-quota.ts");
  const contract = "test/kafka-quota-contract.test.ts";
  const updateStep = "against real infrastructure > updates it; the new spec is READY and really there";

  it("shows the files and commands the test runs, with the provider package pinned as make setup installs it", () => {
    expect(files.map((block) => block.file)).toEqual(["src/kafka-quota.ts", contract]);
    expect(pinned).toBeDefined();
    expect(providerCommands).toEqual([
      `pnpm add @pulumi/kafka@${pinned} @platformatic/kafka@2.12.1`,
      `pnpm exec tsc\npnpm exec vitest run ${contract}`,
    ]);
    expect(files[0]!.body.match(/deleteBeforeReplace: true/g)).toHaveLength(1);
  });

  it(
    "the kafka.quota plugin passes the contract suite against a real broker, its replaces printed as meant",
    { timeout: 900_000 },
    () => {
      expect(existsSync(join(packageDir, "node_modules/@plinth/testing")), "the guide's package is installed").toBe(
        true,
      );
      for (const block of files) writeFileSync(join(packageDir, block.file!), block.body);
      run(`${providerCommands[0]!} --offline`, packageDir);
      const output = run(providerCommands[1]!, packageDir);
      expect(output).toMatch(/Test Files\s+1 passed/);
      expect(output).toMatch(/kafka\.quota plugin contract/);
      expect(output).toContain("notices a change made behind its back (DRIFTED)");
      expect(output).toContain("replaced the resource (declared with `real.replacesOnUpdate`)");
    },
  );

  it(
    "with Pulumi's default replace (no deleteBeforeReplace) the suite fails the update: each attempt's delete removes the new quota",
    { timeout: 900_000 },
    () => {
      const written = readFileSync(plugin, "utf8");
      const fixture = join(packageDir, contract);
      const fixtureWritten = readFileSync(fixture, "utf8");
      writeFileSync(plugin, written.replace("{ provider, deleteBeforeReplace: true }", "{ provider }"));
      // Every retry replaces again and loses the quota again: two short attempts show it, and the steps
      // that would wait on the lost quota after the failed update are left out.
      writeFileSync(
        fixture,
        fixtureWritten.replace(
          "replacesOnUpdate: true,",
          "replacesOnUpdate: true, service: { worker: { maxAttempts: 2, verifyTimeoutMs: 5_000 } }, " +
            "steps: { convergence: false, drift: false },",
        ),
      );
      try {
        const { ok, printed } = attempt(`pnpm exec vitest run ${contract}`, packageDir);
        expect(ok, printed.slice(-6_000)).toBe(false);
        const failed = [...printed.matchAll(/FAIL\s+\S+ > kafka\.quota plugin contract > (.+)$/gm)].map((m) => m[1]);
        expect([...new Set(failed)], printed.slice(-6_000)).toEqual([updateStep]);
        expect(printed).toMatch(/attempt 1 failed; retrying in [\d.]+ s: verify of plugin kafka\.quota .* is unset/);
        expect(printed).toContain("an update that keeps the identity planned a replace");
      } finally {
        writeFileSync(plugin, written);
        writeFileSync(fixture, fixtureWritten);
      }
    },
  );
});
