import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnginePreview } from "../../src/index.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

// A reviewer may approve while the preview for reviewers is still running.
// The preview's late result must not end the apply that the approval started.
describe("approving a change while its preview for reviewers runs", () => {
  let service: TestService;
  let previewStarted!: () => void;
  let finishPreview!: () => void;
  const started = new Promise<void>((resolve) => (previewStarted = resolve));
  const gate = new Promise<void>((resolve) => (finishPreview = resolve));
  let applyStarted!: () => void;
  let finishApply!: () => void;
  const applying = new Promise<void>((resolve) => (applyStarted = resolve));
  const applyGate = new Promise<void>((resolve) => (finishApply = resolve));
  beforeAll(async () => {
    service = await startTestService({
      engine: createFakeEngine({
        preview: async (request): Promise<EnginePreview> => {
          if (request.resolvedSpec.size === 60) {
            previewStarted();
            await gate;
          }
          return { steps: { update: 1 }, destructive: false, details: {} };
        },
        apply: async (request) => {
          if (request.resolvedSpec.size === 60) {
            applyStarted();
            await applyGate;
          }
          return { outputs: { size: request.resolvedSpec.size ?? null }, secretOutputs: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it("the late preview does not end the apply that the approval started", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "raced",
      spec: { size: 10 },
      requestId: "raced-c",
    });
    await watchToEnd(alice, created.change!.id);
    const big = await alice.resources.applyResource({
      type: "test.widget",
      name: "raced",
      spec: { size: 60 },
      requestId: "raced-big",
    });
    expect(big.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await started;
    await service.as("reviewer").changes.approveChange({ id: big.change!.id, comment: "fine" });
    // The preview for reviewers ends while the approved apply is running.
    await applying;
    finishPreview();
    await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: big.change!.id });
        if (!change?.preview) throw new Error("no preview recorded yet");
      },
      { what: "the late preview recorded", timeoutMs: 10_000 },
    );
    finishApply();
    const { change } = await watchToEnd(alice, big.change!.id);
    expect(change.status).toBe(ChangeStatus.SUCCEEDED);
    // The success is recorded on the change as it is now: the preview written meanwhile stays.
    const after = await alice.changes.getChange({ id: big.change!.id });
    expect(after.change?.preview?.steps).toEqual({ update: 1 });
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "raced" });
    expect(resource?.spec?.size).toBe(60);
  });
});
