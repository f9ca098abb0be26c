import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Change, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineRequest } from "../../src/index.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
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

// The SQLite store's side of a graceful stop (the PostgreSQL side, with replicas, is postgres-replicas.test.ts): a
// server stopped while it applies lets the change run for worker.drainMs, then stops it and hands it over. The
// next server on the data dir resumes it at once, and the attempt cut short is given back.
describe("a server stopped mid-apply on SQLite", () => {
  it("hands the change over: the next start resumes it in the same attempt, and maxAttempts 1 is enough", async () => {
    let applying!: () => void;
    const inApply = new Promise<void>((resolve) => (applying = resolve));
    // A lease no test waits out, and one attempt only: a counted interruption would fail the change.
    const config = { worker: { leaseMs: 600_000, pollMs: 20, maxAttempts: 1, drainMs: 0 } };
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-handover-"));
    const first = await startTestService({
      dataDir,
      config,
      engine: createFakeEngine({
        apply: (request: EngineRequest) =>
          new Promise((_, reject) => {
            applying();
            request.signal?.addEventListener("abort", () => reject(request.signal?.reason as Error));
          }),
      }),
    });
    const { change } = await first
      .as("requester")
      .resources.applyResource({ type: "test.widget", name: "stopped-mid-apply", spec: { size: 1 } });
    await inApply;
    await first.close();

    const second = await startTestService({ dataDir, config });
    try {
      const done = await watchToEnd(second.as("requester"), change!.id);
      expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(done.change.attempts).toBe(1);
      const { events } = await second.as("requester").changes.getChange({ id: change!.id });
      const messages = events.map((event) => event.message);
      expect(
        messages.filter((message) => /stopped and handed over.*attempt 1 does not count/.test(message)),
      ).toHaveLength(1);
      expect(messages.filter((message) => /^attempt \d+:/.test(message))).toEqual([
        "attempt 1: applying",
        expect.stringMatching(/^attempt 1: resuming/),
      ]);
    } finally {
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
