import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import type { EnginePreview } from "../../src/index.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";
import { waitFor } from "@plinth/testing";

describe("the engine preview, shown to reviewers", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({
      engine: createFakeEngine({
        // Recolouring a widget replaces it, as changing an immutable property would.
        preview: async (request): Promise<EnginePreview> =>
          request.resolvedSpec.color === "red"
            ? {
                steps: { replace: 1 },
                destructive: true,
                details: { changes: [{ op: "replace", replaceKeys: ["color"] }] },
              }
            : { steps: { update: 1 }, destructive: false, details: {} },
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  async function created(name: string) {
    const alice = service.as("requester");
    const applied = await alice.resources.applyResource({
      type: "test.widget",
      name,
      spec: { size: 10 },
      requestId: `${name}-c`,
    });
    await watchToEnd(alice, applied.change!.id);
  }

  it("is computed for a change pending review, before anyone approves it", async () => {
    await created("previewed");
    const alice = service.as("requester");
    const big = await alice.resources.applyResource({
      type: "test.widget",
      name: "previewed",
      spec: { size: 60 },
      requestId: "p-big",
    });
    expect(big.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const change = await waitFor(
      async () => {
        const { change } = await service.as("reviewer").changes.getChange({ id: big.change!.id });
        if (!change?.preview) throw new Error("no preview yet");
        return change;
      },
      { what: "preview", timeoutMs: 10_000 },
    );
    expect(change.preview?.steps).toEqual({ update: 1 });
    expect(change.preview?.destructive).toBe(false);
    expect(change.status).toBe(ChangeStatus.PENDING_REVIEW);
  });

  it("stays on an auto-approved update that previewed itself during its attempt, once it succeeds", async () => {
    await created("kept");
    const alice = service.as("requester");
    const grown = await alice.resources.applyResource({
      type: "test.widget",
      name: "kept",
      spec: { size: 20 },
      requestId: "k-grow",
    });
    expect(grown.change?.status).toBe(ChangeStatus.QUEUED);
    const done = await watchToEnd(alice, grown.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(done.messages.some((m) => m.startsWith("preview: update 1"))).toBe(true);
    // Recording the success must not write back the change as it was when the attempt began.
    const { change } = await alice.changes.getChange({ id: grown.change!.id });
    expect(change?.preview?.steps).toEqual({ update: 1 });
  });

  it("holds a destructive auto-approved update for review instead of applying it", async () => {
    await created("recolour");
    const alice = service.as("requester");
    const red = await alice.resources.applyResource({
      type: "test.widget",
      name: "recolour",
      spec: { size: 10, color: "red" },
      requestId: "r-red",
    });
    expect(red.change?.status).toBe(ChangeStatus.QUEUED);
    const held = await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: red.change!.id });
        if (change?.status !== ChangeStatus.PENDING_REVIEW) throw new Error(`still ${change?.status}`);
        return change;
      },
      { what: "hold for review", timeoutMs: 10_000 },
    );
    expect(held.requiredApprovals).toBe(1);
    expect(held.preview?.destructive).toBe(true);
    expect(held.reviewReasons.join(" ")).toContain("destructive");
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "recolour" });
    expect(resource?.resolvedSpec?.color).toBe("blue");

    expect((await failure(alice.changes.approveChange({ id: red.change!.id }))).code).toBeDefined();
    await service.as("reviewer").changes.approveChange({ id: red.change!.id, comment: "replacement is fine" });
    const done = await watchToEnd(alice, red.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(done.messages.some((m) => m.includes("DESTRUCTIVE"))).toBe(true);
  });
});

describe("a change whose preview is still running", () => {
  let service: TestService;
  let release: () => void = () => undefined;
  let previewStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (previewStarted = resolve));
  beforeAll(async () => {
    service = await startTestService({
      engine: createFakeEngine({
        preview: async (): Promise<EnginePreview> => {
          previewStarted();
          await new Promise<void>((resolve) => (release = resolve));
          return { steps: { update: 1 }, destructive: false, details: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    release();
    await service?.close();
  });

  it("can still be cancelled; the late preview is dropped", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "slow",
      spec: { size: 10 },
      requestId: "s1",
    });
    await watchToEnd(alice, created.change!.id);
    const big = await alice.resources.applyResource({
      type: "test.widget",
      name: "slow",
      spec: { size: 70 },
      requestId: "s2",
    });
    await started;
    const cancelled = await alice.changes.cancelChange({ id: big.change!.id, comment: "changed my mind" });
    expect(cancelled.change?.status).toBe(ChangeStatus.CANCELLED);
    release();
    const final = await watchToEnd(alice, big.change!.id);
    expect(final.change.status).toBe(ChangeStatus.CANCELLED);
    expect(final.change.preview).toBeUndefined();
  });
});
