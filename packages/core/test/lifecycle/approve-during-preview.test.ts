import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineOutputs, EnginePreview } from "../../src/index.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

/** A promise with its resolver, to hold an engine call until the test lets it go. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}

// A reviewer approving while the preview for reviewers still runs: the approval replaces the preview job
// with the apply job, which the same worker starts at once. The preview finishing (or failing) afterwards
// must leave the apply job alone, or the change stays APPLYING forever.
describe("an approval while the review preview is still running", () => {
  let service: TestService;
  const previewStarted = gate();
  const previewMayFinish = gate<EnginePreview>();
  const applyStarted = gate();
  const applyMayFinish = gate<EngineOutputs>();
  beforeAll(async () => {
    service = await startTestService({
      engine: createFakeEngine({
        preview: async () => {
          previewStarted.open();
          return await previewMayFinish.opened;
        },
        apply: async () => {
          applyStarted.open();
          return await applyMayFinish.opened;
        },
      }),
      // Create needs a reviewer, so the create gets a review preview.
      config: { review: { approvals: { CREATE: 1, UPDATE: 0, DELETE: 1 } } },
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it("applies the change once the preview is recorded", async () => {
    const alice = service.as("requester");
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "raced",
      spec: { size: 10 },
      requestId: "race-1",
    });
    expect(change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await previewStarted.opened;
    await service.as("reviewer").changes.approveChange({ id: change!.id, comment: "quick" });
    await applyStarted.opened;
    previewMayFinish.open({ steps: { create: 1 }, destructive: false, details: {} });
    // Give the preview time to be recorded while the apply still runs.
    await waitFor(
      async () => {
        const { change: current } = await alice.changes.getChange({ id: change!.id });
        if (!current?.preview) throw new Error("preview not recorded yet");
      },
      { what: "the preview recorded", timeoutMs: 10_000 },
    );
    applyMayFinish.open({ outputs: { name: "raced" }, secretOutputs: {} });
    const done = await waitFor(
      async () => {
        const { change: current } = await alice.changes.getChange({ id: change!.id });
        if (current?.status !== ChangeStatus.SUCCEEDED) throw new Error(`still ${current?.status}`);
        return current;
      },
      { what: "the change to succeed", timeoutMs: 15_000 },
    );
    expect(done.attempts).toBe(1);
  });
});
