import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../src/index.ts";

// A PATH with the basic tools setup scripts use, and none of java, go, mvn or pulumi.
const bin = mkdtempSync(join(tmpdir(), "plinth-path-"));
for (const tool of [
  "bash",
  "dirname",
  "mkdir",
  "cat",
  "sha256sum",
  "cut",
  "rm",
  "ls",
  "sort",
  "tail",
  "head",
  "id",
  "mktemp",
  "tar",
  "grep",
  "sed",
  "date",
  "flock",
  "env",
  "uname",
  "tr",
  "cp",
  "mv",
  "ln",
  "install",
  "readlink",
  "basename",
  "find",
  "xargs",
]) {
  for (const dir of ["/usr/bin", "/bin"]) {
    if (existsSync(join(dir, tool))) {
      symlinkSync(join(dir, tool), join(bin, tool));
      break;
    }
  }
}
const caches: string[] = [];
afterAll(() => {
  for (const dir of [bin, ...caches]) rmSync(dir, { recursive: true, force: true });
});

function runScript(script: string, env: Record<string, string>) {
  const result = spawnSync(join(bin, "bash"), [join(repoRoot, "scripts/toolchain", script)], {
    env: { HOME: process.env.HOME ?? "/root", PATH: bin, ...env },
    encoding: "utf8",
  });
  return { status: result.status, lines: result.stderr.trim().split("\n").filter(Boolean) };
}

function emptyCache(): string {
  const dir = mkdtempSync(join(tmpdir(), "plinth-cache-"));
  caches.push(dir);
  return dir;
}

describe("setup scripts on a machine that lacks something", () => {
  it.each([
    { reason: "Java missing", script: "kafka.sh", says: /java not found: install Java 17\+/ },
    {
      reason: "Go missing (nothing cached, no pulumi on PATH)",
      script: "pulumi.sh",
      says: /go not found: put Go 1.25 or newer on PATH/,
    },
    { reason: "Go missing for the Kafka provider", script: "pulumi-kafka.sh", says: /go not found/i },
  ])("$reason: fails with one line saying what to do", ({ script, says }) => {
    const { status, lines } = runScript(script, { PLINTH_CACHE: emptyCache() });
    expect(status).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(says);
  });

  it.each(["kafka.sh", "pulumi.sh", "node.sh", "postgres.sh"])(
    "cache dir unwritable (%s): one line naming it",
    (script) => {
      const { status, lines } = runScript(script, { PLINTH_CACHE: "/proc/plinth-cache" });
      expect(status).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/\/proc\/plinth-cache is not writable/);
    },
  );
});
