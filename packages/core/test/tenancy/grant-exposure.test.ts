import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type Clients, type TestService, clientsFor, principals, startTestService } from "../support/test-service.ts";
import { plinthBin } from "../support/run-plinth-cli.ts";

const execFileAsync = promisify(execFile);

// Any plugin with `reaches` gets the rule from core: test.owned reaches resources by name, the way a grant on a
// prefix reaches topics. payments (alice) reads "payroll" before anything has that name; search (olga) then names one so.
describe("a new resource never falls silently under another team's grant (core, any plugin)", () => {
  let service: TestService;
  const as = (name: keyof typeof principals): Clients => clientsFor(service.url, principals[name].token);
  beforeAll(async () => {
    service = await startTestService({
      config: {
        plugins: [{ module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" }],
      },
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  const spec = (team: string, extra: JsonObject = {}): JsonObject => ({
    owner: { team, contact: `#${team}` },
    ...extra,
  });
  const apply = (who: Clients, name: string, body: JsonObject, more: Record<string, unknown> = {}) =>
    who.resources.applyResource({
      type: "test.owned",
      name,
      spec: body,
      requestId: `${name}-${Math.random()}`,
      ...more,
    });
  const plinth = async (token: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [plinthBin, ...args], {
        env: { ...process.env, PLINTH_URL: service.url, PLINTH_TOKEN: token },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  };

  it("refuses the name through the CLI and the API, a transfer too; an admin's override is reviewed", async () => {
    const reader = await apply(as("requester"), "payments-reader", spec("payments", { reads: ["payroll", "ledger"] }));
    expect((await watchToEnd(as("requester"), reader.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    const manifest = join(mkdtempSync(join(tmpdir(), "plinth-exposure-")), "payroll.json");
    writeFileSync(manifest, JSON.stringify({ type: "test.owned", name: "payroll", spec: spec("search") }));
    const cli = await plinth(principals.outsider.token, "apply", "-f", manifest);
    expect(cli.code).toBe(6);
    expect(cli.stderr).toContain(
      'name: test.owned "payroll" of team search would fall under a grant search never approved: test.owned ' +
        '"payments-reader" of team payments may read payroll (reads.0), so it would reach what search owns',
    );
    expect(cli.stderr).toContain("ask payments to narrow the grant");
    expect(await failure(as("outsider").resources.getResource({ type: "test.owned", name: "payroll" }))).toMatchObject({
      code: Code.NotFound,
    });

    // payments' own resource under its own grant is not asked about.
    const ledger = await apply(as("requester"), "ledger", spec("payments"));
    expect((await watchToEnd(as("requester"), ledger.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // Handing it to search would put search's resource under the same grant.
    const handOver = await failure(apply(as("requester"), "ledger", spec("search")));
    expect(handOver.code).toBe(Code.FailedPrecondition);
    expect(handOver.message).toContain('Handing test.owned "ledger" over to search would fall under a grant');

    const overridden = await apply(as("admin"), "payroll", spec("search"), { overrideGuardrails: true });
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.change?.reviewReasons.join(" ")).toContain(
      'admin override of guardrails: name: test.owned "payroll" of team search would fall under a grant',
    );
  });
});
