import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import {
  type Clients,
  type TestService,
  clientsFor,
  principals,
  principalsConfig,
  startTestService,
} from "../support/test-service.ts";
import { plinthBin } from "../support/run-plinth-cli.ts";

// Teams as the issue tells it: payments (alice, amir), search (olga, and sam who reviews for search),
// platform (rita reviews, ada is an admin).
const sam = { id: "sam", team: "search", roles: ["reviewer"], token: "token-sam" };

const execFileAsync = promisify(execFile);

describe("ownership: the spec's owner is the resource's owning team (issue 13)", () => {
  let service: TestService;
  let as: (name: keyof typeof principals | "sam") => Clients;
  beforeAll(async () => {
    service = await startTestService({
      config: {
        plugins: [{ module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" }],
        principals: principalsConfig({ ...principals, sam }),
      },
    });
    as = (name) => clientsFor(service.url, name === "sam" ? sam.token : principals[name].token);
  });

  /** Runs the real `plinth` executable against the test server. */
  const plinth = async (token: string, ...args: string[]) => {
    try {
      const { stdout } = await execFileAsync(process.execPath, [plinthBin, ...args], {
        env: { ...process.env, PLINTH_URL: service.url, PLINTH_TOKEN: token },
      });
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, stdout: failed.stdout };
    }
  };
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
  const reveal = (who: Clients, name: string) =>
    who.resources.revealSecret({ type: "test.owned", name, key: "serial" });

  it("refuses a requester naming another team as owner, and writes nothing", async () => {
    const refused = await failure(apply(as("requester"), "labelled", spec("security")));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(refused.message).toContain("security");
    expect(
      await failure(as("requester").resources.getResource({ type: "test.owned", name: "labelled" })),
    ).toMatchObject({ code: Code.NotFound });
  });

  it("gives what an admin creates to the team the admin names: its reveal rights and change rights follow", async () => {
    const created = await apply(as("admin"), "for-search", spec("search"));
    expect(created.resource?.ownerTeam).toBe("search");
    expect((await watchToEnd(as("admin"), created.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect((await reveal(as("outsider"), "for-search")).value?.kind.value).toBe("sn-for-search");
    expect(await failure(reveal(as("requester"), "for-search"))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(reveal(as("reviewer"), "for-search"))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(apply(as("requester"), "for-search", spec("search", { note: "mine now" })))).toMatchObject({
      code: Code.PermissionDenied,
    });
  });

  it("bounds free text: comment, labels and every spec string, all violations at once", async () => {
    const refused = await failure(
      apply(as("requester"), "chatty", spec("payments", { note: "n".repeat(5_000) }), {
        comment: "c".repeat(3 * 1024 * 1024),
        labels: { ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, "v"])), k0: "v".repeat(300) },
      }),
    );
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields).toEqual(["comment", "labels", "labels.k0", "spec.note"]);
    const review = await failure(as("reviewer").changes.rejectChange({ id: "anything", comment: "r".repeat(5_000) }));
    expect(review).toMatchObject({ code: Code.InvalidArgument, fields: ["comment"] });
    expect(await failure(as("requester").resources.getResource({ type: "test.owned", name: "chatty" }))).toMatchObject({
      code: Code.NotFound,
    });
  });

  it("makes a reach into another team's resource an access request that only that team's reviewer completes", async () => {
    const reader = await apply(as("requester"), "payments-reader", spec("payments", { reads: ["for-search"] }));
    const change = reader.change!;
    expect(change.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(change.accessRequests).toEqual([
      expect.objectContaining({
        field: "reads.0",
        ownerTeam: "search",
        requesterTeam: "payments",
        access: "read for-search",
      }),
    ]);
    expect(change.reviewReasons.join(" ")).toContain("payments asks to read for-search");
    // A reviewer of another team counts as a reviewer, but not as the owner's consent.
    const byPlatform = await as("reviewer").changes.approveChange({ id: change.id, comment: "fine by platform" });
    expect(byPlatform.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const bySearch = await as("sam").changes.approveChange({ id: change.id, comment: "search agrees" });
    expect(bySearch.change?.accessRequests[0]?.approvedBy).toEqual(["sam"]);
    expect((await watchToEnd(as("requester"), change.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    const { grants } = await as("outsider").resources.listAccessGrants({ ownerTeam: "search" });
    expect(grants).toEqual([
      expect.objectContaining({
        type: "test.owned",
        name: "payments-reader",
        requesterTeam: "payments",
        ownerTeam: "search",
        access: "read for-search",
        approvedBy: ["sam"],
        changeId: change.id,
      }),
    ]);
    expect(grants[0]?.since).toBeDefined();
    // A later change that keeps the grant does not ask again.
    const again = await apply(
      as("requester"),
      "payments-reader",
      spec("payments", { reads: ["for-search"], note: "x" }),
    );
    expect(again.change?.accessRequests).toEqual([]);
    expect(again.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    await watchToEnd(as("requester"), again.change!.id);
  });

  it("transfers ownership only with the receiving team's approval; rights move once it applies", async () => {
    const made = await apply(as("requester"), "handover", spec("payments"));
    await watchToEnd(as("requester"), made.change!.id);
    const transfer = await apply(as("requester"), "handover", spec("search"));
    expect(transfer.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(transfer.change?.accessRequests).toEqual([
      expect.objectContaining({ field: "owner.team", ownerTeam: "search", requesterTeam: "payments" }),
    ]);
    // Until it applies, payments still owns it.
    expect((await reveal(as("requester"), "handover")).value?.kind.value).toBe("sn-handover");
    await as("reviewer").changes.approveChange({ id: transfer.change!.id, comment: "platform ok" });
    expect((await as("requester").changes.getChange({ id: transfer.change!.id })).change?.status).toBe(
      ChangeStatus.PENDING_REVIEW,
    );
    await as("sam").changes.approveChange({ id: transfer.change!.id, comment: "search takes it" });
    expect((await watchToEnd(as("requester"), transfer.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(
      (await as("requester").resources.getResource({ type: "test.owned", name: "handover" })).resource?.ownerTeam,
    ).toBe("search");
    expect((await reveal(as("outsider"), "handover")).value?.kind.value).toBe("sn-handover");
    expect(await failure(reveal(as("requester"), "handover"))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(apply(as("requester"), "handover", spec("payments")))).toMatchObject({
      code: Code.PermissionDenied,
    });
  });

  it("lets a reviewer of the owning team revoke another team's grant: a change in its history, audited", async () => {
    const asked = await apply(as("requester"), "payments-revoked", spec("payments", { reads: ["for-search"] }));
    await as("sam").changes.approveChange({ id: asked.change!.id, comment: "ok for now" });
    expect((await watchToEnd(as("requester"), asked.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const revoke = (who: Clients, field: string, requestId: string) =>
      who.resources.revokeAccessGrant({
        type: "test.owned",
        name: "payments-revoked",
        field,
        requestId,
        comment: "search stops sharing",
      });
    // Only a reviewer may, and only for what its own team owns.
    expect(await failure(revoke(as("outsider"), "reads.0", "r-1"))).toMatchObject({ code: Code.PermissionDenied });
    const notOurs = await failure(revoke(as("reviewer"), "reads.0", "r-2"));
    expect(notOurs.code).toBe(Code.NotFound);
    expect(notOurs.message).toContain("it reaches nothing of yours");
    const wrongField = await failure(revoke(as("sam"), "reads.7", "r-3"));
    expect(wrongField.code).toBe(Code.NotFound);
    expect(wrongField.message).toContain("its grants that do: reads.0 (read for-search)");

    const revoked = await revoke(as("sam"), "reads.0", "r-4");
    const change = revoked.change!;
    expect(change.requestedBy).toBe("sam");
    expect(change.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await watchToEnd(as("requester"), change.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // A retry returns the same change.
    expect((await revoke(as("sam"), "reads.0", "r-4")).change?.id).toBe(change.id);
    const after = await as("requester").resources.getResource({ type: "test.owned", name: "payments-revoked" });
    expect(after.resource?.ownerTeam).toBe("payments");
    expect(after.resource?.spec?.reads).toEqual([]);
    expect(
      (await as("sam").resources.listAccessGrants({ ownerTeam: "search" })).grants.map((g) => g.name),
    ).not.toContain("payments-revoked");
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      expect(
        db
          .prepare("SELECT principal, action, details FROM audit_log WHERE target = ?")
          .all("test.owned/payments-revoked"),
      ).toEqual([
        {
          principal: "sam",
          action: "revoke-access-grant",
          details: JSON.stringify({
            field: "reads.0",
            access: "read for-search",
            ownerTeam: "search",
            requestId: "r-4",
          }),
        },
      ]);
    } finally {
      db.close();
    }
  });

  it("shows access requests, grants and usage in the CLI", async () => {
    const asked = await apply(as("requester"), "payments-curious", spec("payments", { reads: ["for-search"] }));
    const pending = await plinth(sam.token, "changes", "--pending");
    expect(pending.stdout).toContain("payments asks to read for-search (search: waiting for a reviewer)");
    await as("sam").changes.approveChange({ id: asked.change!.id, comment: "ok" });
    await watchToEnd(as("requester"), asked.change!.id);
    const grants = await plinth(sam.token, "grants", "--owner-team", "search");
    expect(grants.stdout).toMatch(
      /test\.owned\/payments-curious\s+reads\.0\s+payments\s+read for-search\s+search\s+sam/,
    );
    // The owner takes it back: a change on payments' resource, submitted by search's reviewer.
    const revoked = await plinth(sam.token, "grants", "revoke", "test.owned", "payments-curious", "reads.0", "--wait");
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("SUCCEEDED");
    expect((await plinth(sam.token, "grants", "--owner-team", "search")).stdout).not.toContain("payments-curious");
    const usage = await plinth(principals.requester.token, "usage");
    expect(usage.stdout).toMatch(/test\.owned\s+here\s+things\s+\d\s+5/);
    expect(usage.code).toBe(0);
  });

  it("refuses what takes a team over its quota with RESOURCE_EXHAUSTED, usage and limit", async () => {
    const { usage } = await as("outsider").resources.getTeamUsage({});
    const used = usage.find((row) => row.metric === "things")?.used ?? 0;
    for (let i = used; i < 5; i++) await apply(as("outsider"), `search-thing-${i}`, spec("search"));
    const over = await failure(apply(as("outsider"), "search-thing-5", spec("search")));
    expect(over.code).toBe(Code.ResourceExhausted);
    expect(over.message).toContain(
      'team search is over its test.owned quota on "here": things: would use 6 of 5 (uses 5 now)',
    );
    // An update that adds nothing passes at the limit.
    expect(
      (await apply(as("outsider"), "search-thing-4", spec("search", { note: "still one thing" }))).change,
    ).toBeDefined();
  });

  it("writes nothing for refused requests: the database holds no oversized text", () => {
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      const longest = db.prepare("SELECT max(length(comment)) AS n FROM changes").get() as { n: number };
      expect(longest.n).toBeLessThan(4_097);
    } finally {
      db.close();
    }
  });

  it("lets an admin exceed a team's quota only with a reviewed, audited override", async () => {
    const { usage } = await as("requester").resources.getTeamUsage({});
    const used = usage.find((row) => row.metric === "things")?.used ?? 0;
    for (let i = used; i < 5; i++) await apply(as("requester"), `payments-thing-${i}`, spec("payments"));
    // Over quota: refused for the admin too, unless it overrides.
    expect((await failure(apply(as("admin"), "payments-extra", spec("payments")))).code).toBe(Code.ResourceExhausted);
    expect(
      (await failure(apply(as("requester"), "payments-extra", spec("payments"), { overrideGuardrails: true }))).code,
    ).toBe(Code.PermissionDenied);
    const overridden = await apply(as("admin"), "payments-extra", spec("payments"), { overrideGuardrails: true });
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.change?.reviewReasons.join(" ")).toContain(
      'admin override of guardrails: quota: team payments is over its test.owned quota on "here": things: would use 6 of 5',
    );
    expect(overridden.resource?.ownerTeam).toBe("payments");
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      expect(
        db.prepare("SELECT principal, action FROM audit_log WHERE target = ?").all("test.owned/payments-extra"),
      ).toEqual([{ principal: "ada", action: "override-guardrails" }]);
    } finally {
      db.close();
    }
    await as("admin").changes.cancelChange({ id: overridden.change!.id, comment: "only showing the override" });
  });
});
