import { type Change, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineRequest } from "../../src/index.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

// A worker whose lease lapses (a VM pause, a stalled event loop) while its attempt still runs may find the
// same job claimable again. With nobody else having taken it, the claim is its own: the attempt in hand goes on
// under the new claim and records what its engine did; it is neither run a second time nor judged unfinished.
describe("an attempt whose lease lapsed while it ran", () => {
  let service: TestService;
  /** Added to the store's lease clock: jumping it ahead makes every lease lapse, as a long pause would. */
  let pause = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const calls: { aborted: boolean }[] = [];
  let firstStarted!: () => void;
  const started = new Promise<void>((resolve) => (firstStarted = resolve));
  let releaseFirst!: () => void;
  const firstGate = new Promise<void>((resolve) => (releaseFirst = resolve));

  beforeAll(async () => {
    service = await startTestService({
      leaseClock: () => performance.timeOrigin + performance.now() + pause,
      // A lease long enough that no renewal runs during the test: only the jump ends it. One attempt only:
      // the lapsed one is the change's last, which a re-claim used to fail although its engine went on.
      config: { worker: { leaseMs: 600_000, pollMs: 20, maxAttempts: 1, retryBaseMs: 20, retryMaxMs: 100 } },
      engine: createFakeEngine({
        apply: async (request: EngineRequest) => {
          const call = { aborted: false };
          calls.push(call);
          inFlight++;
          mostInFlight = Math.max(mostInFlight, inFlight);
          try {
            if (calls.length === 1) {
              firstStarted();
              await new Promise<void>((resolve, reject) => {
                void firstGate.then(resolve);
                request.signal?.addEventListener("abort", () => {
                  call.aborted = true;
                  reject(request.signal?.reason as Error);
                });
              });
            }
            return { outputs: { call: calls.length }, secretOutputs: {} };
          } finally {
            inFlight--;
          }
        },
      }),
    });
  });
  afterAll(async () => {
    releaseFirst();
    await service?.close();
  });

  it("during the last attempt: the same worker takes the job back, and the engine's success is recorded once", async () => {
    const alice = service.as("requester");
    const submitted = await alice.resources.applyResource({
      type: "test.widget",
      name: "paused",
      spec: { size: 1 },
      requestId: "paused-1",
    });
    await started;
    pause += 1_200_000;
    let change: Change | undefined;
    const messages: string[] = [];
    for await (const update of alice.changes.watchChange({ id: submitted.change!.id })) {
      change = update.change;
      const message = update.event?.message ?? "";
      messages.push(message);
      // The engine finishes only once the worker has claimed the lapsed job again.
      if (message.includes("took it back")) releaseFirst();
    }
    expect(change?.status).toBe(ChangeStatus.SUCCEEDED);
    expect(change?.attempts).toBe(1);
    expect(messages.some((m) => m.includes("never finished"))).toBe(false);
    // One engine run, never aborted, never two at once.
    expect(calls).toEqual([{ aborted: false }]);
    expect(mostInFlight).toBe(1);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "paused" });
    expect(resource?.revision).toBe(1n);
    expect(resource?.outputs).toEqual({ call: 1 });
  });
});
