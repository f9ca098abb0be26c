import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("overriding a guardrail", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });
  const huge = (requestId: string, overrideGuardrails = false) => ({
    type: "test.widget",
    name: "huge",
    spec: { size: 95 },
    requestId,
    overrideGuardrails,
  });

  it("is refused without the flag, naming the field", async () => {
    expect(await failure(service.as("admin").resources.applyResource(huge("g1")))).toMatchObject({
      code: Code.InvalidArgument,
      fields: ["spec.size"],
    });
  });

  it("is for admins only", async () => {
    expect((await failure(service.as("requester").resources.applyResource(huge("g2", true)))).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("lets an admin through, always with a reviewer, and audits it", async () => {
    const applied = await service.as("admin").resources.applyResource(huge("g3", true));
    expect(applied.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(applied.change?.reviewReasons.join(" ")).toContain("admin override of guardrails: spec.size");
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      expect(
        db.prepare("SELECT principal, action, target FROM audit_log WHERE action != 'request-change'").all(),
      ).toEqual([{ principal: "ada", action: "override-guardrails", target: "test.widget/huge" }]);
    } finally {
      db.close();
    }
    // Once reviewed, it applies: the worker's checks at claim honour the override it was reviewed as (issue 22).
    await service.as("reviewer").changes.approveChange({ id: applied.change!.id, comment: "the big one is fine" });
    const done = await watchToEnd(service.as("admin"), applied.change!.id);
    expect(done.change.lastError).toBe("");
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
  });
});
