import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, clientsFor, startTestService } from "../support/test-service.ts";

describe("review, permissions and history", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });
  let counter = 0;
  const apply = (who: Parameters<TestService["as"]>[0], name: string, size: number) =>
    service
      .as(who)
      .resources.applyResource({ type: "test.widget", name, spec: { size }, requestId: `req-${++counter}` });

  it.each([
    { reason: "no token", token: undefined },
    { reason: "an unknown token", token: "not-a-token" },
  ])("answers UNAUTHENTICATED for $reason", async ({ token }) => {
    const anonymous = clientsFor(service.url, token);
    const outcome = await failure(anonymous.resources.listResources({}));
    expect(outcome.code).toBe(Code.Unauthenticated);
  });

  it("lets a requester change only its own team's resources", async () => {
    const created = await apply("requester", "team-owned", 1);
    await watchToEnd(service.as("requester"), created.change!.id);
    expect((await failure(apply("outsider", "team-owned", 2))).code).toBe(Code.PermissionDenied);
    const teammate = await apply("teammate", "team-owned", 2);
    expect(teammate.change?.status).toBe(ChangeStatus.QUEUED);
    const admin = await apply("admin", "team-owned", 3);
    expect(admin.change?.team).toBe("payments");
  });

  it("refuses approval by anyone without the reviewer role, and by the requester even with it", async () => {
    const pending = await apply("reviewer2", "review-roles", 90);
    expect(pending.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const id = pending.change!.id;
    expect((await failure(service.as("teammate").changes.approveChange({ id }))).code).toBe(Code.PermissionDenied);
    expect((await failure(service.as("reviewer2").changes.approveChange({ id }))).code).toBe(Code.PermissionDenied);
    const approved = await service.as("reviewer").changes.approveChange({ id, comment: "lgtm" });
    expect(approved.change?.reviews.map((r) => r.reviewer)).toEqual(["rita"]);
    expect((await failure(service.as("reviewer").changes.approveChange({ id }))).code).toBe(Code.FailedPrecondition);
  });

  it("requires a comment to reject or cancel, and records every decision in the change's history", async () => {
    const pending = await apply("requester", "review-history", 85);
    const id = pending.change!.id;
    const noComment = await failure(service.as("reviewer").changes.rejectChange({ id, comment: "" }));
    expect(noComment).toMatchObject({ code: Code.InvalidArgument, fields: ["comment"] });
    // A reviewer decides once the engine's preview is there (it is an event of the change too).
    await waitFor(
      async () => {
        const { change } = await service.as("reviewer").changes.getChange({ id });
        if (!change?.preview) throw new Error("no preview yet");
      },
      { what: "the review preview", timeoutMs: 10_000 },
    );
    await service.as("reviewer").changes.rejectChange({ id, comment: "use two widgets" });
    const { change, events } = await service.as("requester").changes.getChange({ id });
    expect(change?.status).toBe(ChangeStatus.REJECTED);
    expect(events.map((e) => e.kind)).toEqual(["status", "engine", "review"]);
    // A rejected create gives its name back: a new create is accepted.
    const again = await apply("requester", "review-history", 5);
    expect(again.change?.status).toBe(ChangeStatus.QUEUED);
  });

  it("cancels a change that has not started, only by its team or an admin", async () => {
    const pending = await apply("requester", "cancel-me", 88);
    const id = pending.change!.id;
    expect((await failure(service.as("outsider").changes.cancelChange({ id, comment: "mine now" }))).code).toBe(
      Code.PermissionDenied,
    );
    const cancelled = await service.as("teammate").changes.cancelChange({ id, comment: "not needed" });
    expect(cancelled.change?.status).toBe(ChangeStatus.CANCELLED);
    expect((await failure(service.as("requester").changes.cancelChange({ id, comment: "again" }))).code).toBe(
      Code.FailedPrecondition,
    );
  });

  it("keeps every revision, serves any of them, and reverts through a new reviewed change", async () => {
    const alice = service.as("requester");
    for (const size of [1, 2, 3]) await watchToEnd(alice, (await apply("requester", "history", size)).change!.id);
    const { revisions } = await alice.resources.listRevisions({ type: "test.widget", name: "history" });
    expect(revisions.map((r) => [r.revision, r.resolvedSpec?.size])).toEqual([
      [3n, 3],
      [2n, 2],
      [1n, 1],
    ]);
    const second = await alice.resources.getRevision({ type: "test.widget", name: "history", revision: 2n });
    expect(second.revision?.requestedBy).toBe("alice");
    // Reverting to size 1 shrinks the widget: the plugin's transition rule still applies.
    const revert = await failure(
      alice.resources.revertResource({ type: "test.widget", name: "history", revision: 1n }),
    );
    expect(revert.code).toBe(Code.FailedPrecondition);
    const missing = await failure(alice.resources.getRevision({ type: "test.widget", name: "history", revision: 9n }));
    expect(missing.code).toBe(Code.NotFound);
  });

  it("reverts to an earlier revision as a new change", async () => {
    const alice = service.as("requester");
    await watchToEnd(alice, (await apply("requester", "revertable", 4)).change!.id);
    const recolor = await alice.resources.applyResource({
      type: "test.widget",
      name: "revertable",
      spec: { size: 4, color: "red" },
      requestId: "recolor",
    });
    await watchToEnd(alice, recolor.change!.id);
    const reverted = await alice.resources.revertResource({
      type: "test.widget",
      name: "revertable",
      revision: 1n,
      requestId: "rv",
    });
    expect(reverted.change?.comment).toBe("revert to revision 1");
    const done = await watchToEnd(alice, reverted.change!.id);
    expect(done.change.resultRevision).toBe(3n);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "revertable" });
    expect(resource?.resolvedSpec).toEqual({ size: 4, color: "blue" });
  });
});
