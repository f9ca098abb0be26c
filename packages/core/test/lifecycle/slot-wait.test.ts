import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

// How long a change waited for the engine is visible: on GetChange and as a Prometheus histogram.
describe("the wait for an engine slot", () => {
  let service: TestService;
  let applyStarted!: () => void;
  let finishApply!: () => void;
  const applying = new Promise<void>((resolve) => (applyStarted = resolve));
  const gate = new Promise<void>((resolve) => (finishApply = resolve));
  beforeAll(async () => {
    service = await startTestService({
      // One change at a time, so the second waits in the queue while the first holds the only slot.
      config: { worker: { concurrency: 1, pollMs: 50 } },
      engine: createFakeEngine({
        apply: async (request) => {
          if (request.name === "holder") {
            applyStarted();
            await gate;
          }
          return { outputs: { name: request.name }, secretOutputs: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    finishApply();
    await service?.close();
  });

  it("GetChange reports how long each change was queued before the engine ran it; /metrics has the histogram", async () => {
    const alice = service.as("requester");
    const holder = await alice.resources.applyResource({ type: "test.widget", name: "holder", spec: { size: 1 } });
    await applying;
    const waiterSubmitted = Date.now();
    const waiter = await alice.resources.applyResource({ type: "test.widget", name: "waiter", spec: { size: 2 } });
    await waitFor(
      async () =>
        expect((await alice.changes.getChange({ id: waiter.change!.id })).change?.status).toBe(ChangeStatus.QUEUED),
      { what: "the second change queued behind the first", timeoutMs: 10_000 },
    );
    // Still waiting: nothing recorded yet.
    expect((await alice.changes.getChange({ id: waiter.change!.id })).queuedForSlotMs).toBe(0n);
    // The holder's own wait (a loaded machine's claim-to-slot time) is on record once it runs: the slot is kept
    // until the waiter has waited longer, so that the comparison below is about the queue, not the machine.
    const holderWait = Number((await alice.changes.getChange({ id: holder.change!.id })).queuedForSlotMs);
    await waitFor(async () => expect(Date.now() - waiterSubmitted).toBeGreaterThan(holderWait), {
      what: "the waiter queued longer than the holder waited for its slot",
      timeoutMs: 10_000,
    });
    const released = Date.now();
    finishApply();
    expect((await watchToEnd(alice, holder.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect((await watchToEnd(alice, waiter.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    const first = await alice.changes.getChange({ id: holder.change!.id });
    const second = await alice.changes.getChange({ id: waiter.change!.id });
    // The waiter was queued at least from its submission until the holder let go of the only slot.
    expect(Number(second.queuedForSlotMs)).toBeGreaterThanOrEqual(released - waiterSubmitted);
    expect(second.queuedForSlotMs).toBeGreaterThan(first.queuedForSlotMs);
    expect(second.events.some((event) => event.message.startsWith("engine slot after"))).toBe(true);

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^plinth_change_slot_wait_seconds_count\{type="test\.widget"\} 2$/m);
    const sum = Number(/^plinth_change_slot_wait_seconds_sum\{type="test\.widget"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(sum).toBeGreaterThanOrEqual((released - waiterSubmitted) / 1000);
  });
});
