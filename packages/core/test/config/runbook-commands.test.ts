import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlinthClient } from "@plinth/sdk";
import { repoRoot } from "@plinth/testing";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/index.ts";
import { docBlocks, runRunbook, runbookBlocks, runbookSections } from "../support/runbook.ts";
import { principalsConfig, startTestService } from "../support/test-service.ts";

/** Every test file of the packages, with its text. */
function testFiles(): { file: string; text: string }[] {
  const packages = join(repoRoot, "packages");
  return readdirSync(packages).flatMap((name) => {
    const dir = join(packages, name, "test");
    let entries: string[];
    try {
      entries = readdirSync(dir, { recursive: true, encoding: "utf8" });
    } catch {
      return [];
    }
    return entries
      .filter((entry) => entry.endsWith(".test.ts"))
      .map((entry) => ({ file: `packages/${name}/test/${entry}`, text: readFileSync(join(dir, entry), "utf8") }));
  });
}

describe("the operators' runbooks (docs/operating.md, docs/security.md)", () => {
  it("has every runbook section, each with its commands in shell blocks marked runbook=<id>, each id once", () => {
    for (const [doc, sections] of Object.entries(runbookSections)) {
      const present = new Set(docBlocks(doc).map((block) => block.section));
      for (const section of sections) expect(present.has(section), `${doc}: "${section}" has blocks`).toBe(true);
    }
    const blocks = runbookBlocks();
    for (const block of blocks) expect(block.id, `${block.doc} "${block.section}":\n${block.body}`).toBeDefined();
    const ids = blocks.map((block) => block.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        "backup",
        "restore-fresh",
        "move-pulumi-state",
        "restore-in-place",
        "check-restore",
        "adopt-secrets",
        "rolling-stop",
        "rolling-ready",
        "alert-tests",
        "rekey",
        "make-token",
        "cli-private-ca",
      ]),
    );
  });

  it("has every runbook command run by a test, from the doc's text", () => {
    const files = testFiles();
    for (const { id, doc, section } of runbookBlocks()) {
      const runners = files.filter(({ text }) => text.includes(`runRunbook("${id}"`)).map(({ file }) => file);
      expect(runners, `${doc} "${section}": runbook=${id} is run by no test`).not.toEqual([]);
    }
  });

  it("makes a token whose printed hash, as a principal's tokenSha256, signs its owner in", async () => {
    const printed = (await runRunbook("make-token", { cwd: tmpdir() })).trim().split("\n");
    expect(printed).toHaveLength(2);
    const [token, hashLine] = printed as [string, string];
    const tokenSha256 = /^([0-9a-f]{64}) {2}-$/.exec(hashLine)?.[1];
    expect(tokenSha256).toBe(sha256Hex(token));
    const service = await startTestService({
      config: {
        principals: [...principalsConfig(), { id: "newcomer", team: "payments", roles: ["requester"], tokenSha256 }],
      },
      worker: false,
    });
    try {
      const client = createPlinthClient({ baseUrl: service.url, token });
      expect(await client.identity.whoAmI({})).toMatchObject({ id: "newcomer", team: "payments" });
    } finally {
      await service.close();
    }
  });
});
