import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { JsonObject } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("submit semantics", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });
  const widget = (name: string, spec: JsonObject, requestId = `${name}-${Math.random()}`) => ({
    type: "test.widget",
    name,
    spec,
    requestId,
  });

  it("returns the original change for a repeated request_id with the same payload (idempotency)", async () => {
    const alice = service.as("requester");
    const first = await alice.resources.applyResource(widget("idem", { size: 2 }, "key-1"));
    const again = await alice.resources.applyResource(widget("idem", { size: 2 }, "key-1"));
    expect(again.deduplicated).toBe(true);
    expect(again.change?.id).toBe(first.change?.id);
    const { changes } = await alice.changes.listChanges({ name: "idem" });
    expect(changes).toHaveLength(1);
  });

  it("refuses a reused request_id with a different payload and writes nothing", async () => {
    const alice = service.as("requester");
    await alice.resources.applyResource(widget("idem2", { size: 2 }, "key-2"));
    const reused = await failure(alice.resources.applyResource(widget("idem2", { size: 4 }, "key-2")));
    expect(reused).toMatchObject({ code: Code.InvalidArgument, fields: ["request_id"] });
    const { changes } = await alice.changes.listChanges({ name: "idem2" });
    expect(changes).toHaveLength(1);
  });

  it("keys idempotency per principal: another caller's same request_id is a new request", async () => {
    await service.as("requester").resources.applyResource(widget("idem3", { size: 2 }, "shared-key"));
    const other = await service.as("teammate").resources.applyResource(widget("idem3", { size: 3 }, "shared-key"));
    expect(other.deduplicated).toBe(false);
  });

  it("refuses a resource whose identity another resource holds, naming it (ALREADY_EXISTS)", async () => {
    const alice = service.as("requester");
    await alice.resources.applyResource(widget("Clash_One", { size: 1 }));
    const clash = await failure(alice.resources.applyResource(widget("clash-one", { size: 1 })));
    expect(clash.code).toBe(Code.AlreadyExists);
    expect(clash.message).toContain("Clash_One");
  });

  it("creates no change when the resolved spec equals the desired one (no-op)", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource(widget("noop", { size: 5 }));
    await watchToEnd(alice, created.change!.id);
    // color is defaulted to blue: spelling it out resolves to the same spec.
    const same = await alice.resources.applyResource(widget("noop", { size: 5, color: "blue" }));
    expect(same.noOp).toBe(true);
    // The change that applied it comes back, final: waiting on it returns at once.
    expect(same.change).toMatchObject({ id: created.change!.id, status: ChangeStatus.SUCCEEDED });
    expect((await alice.changes.listChanges({ name: "noop" })).changes).toHaveLength(1);
  });

  it("answers a second identical apply with the change still open for it (issue 29)", async () => {
    const alice = service.as("requester");
    // Over 50 the widget needs a reviewer: the first change waits in review.
    const first = await alice.resources.applyResource(widget("noop-open", { size: 60 }, "noop-open-1"));
    expect(first.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const second = await alice.resources.applyResource(widget("noop-open", { size: 60 }, "noop-open-2"));
    expect(second).toMatchObject({ noOp: true, deduplicated: false, change: { id: first.change!.id } });
    // A retry of the second request (same request_id) answers the same.
    const retried = await alice.resources.applyResource(widget("noop-open", { size: 60 }, "noop-open-2"));
    expect(retried).toMatchObject({ noOp: true, deduplicated: true, change: { id: first.change!.id } });
    expect((await alice.changes.listChanges({ name: "noop-open" })).changes).toHaveLength(1);
  });

  it("compares expected_revision with the applied revision (ABORTED on mismatch)", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({ ...widget("rev", { size: 1 }), expectedRevision: 0n });
    await watchToEnd(alice, created.change!.id);
    const stale = await failure(alice.resources.applyResource({ ...widget("rev", { size: 2 }), expectedRevision: 0n }));
    expect(stale.code).toBe(Code.Aborted);
    const fresh = await alice.resources.applyResource({ ...widget("rev", { size: 2 }), expectedRevision: 1n });
    expect(fresh.change?.baseRevision).toBe(1n);
  });

  it("refuses an illegal transition with FAILED_PRECONDITION and the field", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource(widget("shrink", { size: 10 }));
    await watchToEnd(alice, created.change!.id);
    const shrink = await failure(alice.resources.applyResource(widget("shrink", { size: 4 })));
    expect(shrink).toMatchObject({ code: Code.FailedPrecondition, fields: ["spec.size"] });
  });

  it("refuses to create what already exists outside Plinth, with the plugin's advice (ALREADY_EXISTS)", async () => {
    const outcome = await failure(service.as("requester").resources.applyResource(widget("handmade-1", { size: 1 })));
    expect(outcome.code).toBe(Code.AlreadyExists);
    expect(outcome.message).toContain("adopt");
  });

  it.each([
    { why: "fails", name: "unreachable-1", says: "refused the connection" },
    { why: "does not answer in time", name: "hung-1", says: "no answer within 8000 ms" },
  ])(
    "refuses a create with UNAVAILABLE when the check for an unmanaged twin $why, and records nothing",
    { timeout: 60_000 },
    async ({ name, says }) => {
      const alice = service.as("requester");
      const outcome = await failure(alice.resources.applyResource(widget(name, { size: 1 })));
      expect(outcome.code).toBe(Code.Unavailable);
      expect(outcome.message).toContain(says);
      expect(outcome.message).toContain("nothing was recorded");
      expect((await alice.changes.listChanges({ name })).changes).toEqual([]);
    },
  );

  it("refuses to delete what the plugin protects (FAILED_PRECONDITION on the field)", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource(widget("locked", { size: 1, locked: true }));
    await watchToEnd(alice, created.change!.id);
    const refused = await failure(
      alice.resources.deleteResource({ type: "test.widget", name: "locked", requestId: "del-locked" }),
    );
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, fields: ["spec.locked"] });
  });

  it("applies changes to one resource strictly in submission order, later ones waiting behind a review", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource(widget("ordered", { size: 10 }));
    await watchToEnd(alice, created.change!.id);
    const big = await alice.resources.applyResource(widget("ordered", { size: 60 })); // needs review
    const bigger = await alice.resources.applyResource(widget("ordered", { size: 70 })); // also needs review
    expect(big.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await service.as("reviewer").changes.approveChange({ id: bigger.change!.id });
    // The later change is approved but must wait for the earlier one.
    const waiting = await alice.changes.getChange({ id: bigger.change!.id });
    expect(waiting.change?.status).toBe(ChangeStatus.QUEUED);
    await service.as("reviewer").changes.approveChange({ id: big.change!.id });
    const first = await watchToEnd(alice, big.change!.id);
    const second = await watchToEnd(alice, bigger.change!.id);
    expect(first.change.resultRevision).toBe(2n);
    expect(second.change.resultRevision).toBe(3n);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "ordered" });
    expect(resource?.resolvedSpec).toEqual({ size: 70, color: "blue" });
  });

  it("re-validates a queued change against the state it finds when its turn comes", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource(widget("revalidate", { size: 10 }));
    await watchToEnd(alice, created.change!.id);
    // Behind a pending delete, a smaller widget is a valid re-create...
    const deletion = await alice.resources.deleteResource({
      type: "test.widget",
      name: "revalidate",
      requestId: "rv-del",
    });
    const recreate = await alice.resources.applyResource(widget("revalidate", { size: 5 }));
    expect(recreate.change?.status).toBe(ChangeStatus.QUEUED);
    // ...until the delete is rejected: at its turn the widget still has size 10, and shrinking is illegal.
    await service.as("reviewer").changes.rejectChange({ id: deletion.change!.id, comment: "keep it" });
    const outcome = await watchToEnd(alice, recreate.change!.id);
    expect(outcome.change.status).toBe(ChangeStatus.FAILED);
    expect(outcome.change.lastError).toContain("spec.size");
    // Refused by the verdict computed again at claim, before any attempt touched the resource.
    expect(outcome.change.attempts).toBe(0);
  });

  it("previews without writing anything", async () => {
    const alice = service.as("requester");
    const preview = await alice.resources.previewResource({
      type: "test.widget",
      name: "preview-only",
      spec: { size: 70 },
    });
    expect(preview.resolvedSpec).toEqual({ size: 70, color: "blue" });
    expect(preview.explanations).toEqual({ color: "blue is the house colour" });
    expect(preview.requiredApprovals).toBe(1);
    expect(preview.differences.map((d) => d.path).sort()).toEqual(["color", "size"]);
    await expect(alice.resources.getResource({ type: "test.widget", name: "preview-only" })).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });
});
