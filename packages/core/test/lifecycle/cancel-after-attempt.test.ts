import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError } from "../../src/index.ts";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

// Once an attempt has run, the real resource may exist (or be half gone): a cancel then would leave
// infrastructure nobody manages, so it is refused and the change runs to its end.
describe("cancelling a change that was already attempted", () => {
  let service: TestService;
  let releaseBlocker!: () => void;
  const blockerGate = new Promise<void>((resolve) => (releaseBlocker = resolve));
  let blockerStarted!: () => void;
  const blocking = new Promise<void>((resolve) => (blockerStarted = resolve));
  let attemptsOfTried = 0;
  beforeAll(async () => {
    service = await startTestService({
      // One change at a time: while "blocker" applies, nothing else is claimed, so a re-queued change stays QUEUED.
      config: { worker: { concurrency: 1, leaseMs: 2_000, pollMs: 50, maxAttempts: 1, retryBaseMs: 0, retryMaxMs: 0 } },
      engine: createFakeEngine({
        apply: async (request) => {
          if (request.name === "blocker") {
            blockerStarted();
            await blockerGate;
          } else if (request.name === "tried" && ++attemptsOfTried === 1) {
            // The topic may well exist after this: the broker timed out after creating it.
            throw new EngineError("request timed out", false, "TARGET_UNREACHABLE");
          }
          return { outputs: { name: request.name }, secretOutputs: {} };
        },
      }),
    });
  });
  afterAll(async () => {
    releaseBlocker();
    await service?.close();
  });

  it("is refused with FAILED_PRECONDITION once it is queued again after an attempt, and the change still finishes", async () => {
    const alice = service.as("requester");
    const tried = await alice.resources.applyResource({
      type: "test.widget",
      name: "tried",
      spec: { size: 1 },
      requestId: "tried-1",
    });
    const failed = await watchToEnd(alice, tried.change!.id);
    expect(failed.change.status).toBe(ChangeStatus.FAILED);
    expect(failed.change.attempts).toBe(1);

    const blocker = await alice.resources.applyResource({
      type: "test.widget",
      name: "blocker",
      spec: { size: 1 },
      requestId: "blocker-1",
    });
    await blocking;
    const retried = await alice.changes.retryChange({ id: tried.change!.id });
    expect(retried.change).toMatchObject({ status: ChangeStatus.QUEUED, attempts: 1 });

    const refused = await failure(alice.changes.cancelChange({ id: tried.change!.id, comment: "never mind" }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.message).toMatch(/already attempted 1 time/);
    expect(refused.message).toMatch(/ApplyResource/);
    expect(refused.message).toMatch(/DeleteResource/);
    const { change: still } = await alice.changes.getChange({ id: tried.change!.id });
    expect(still?.status).toBe(ChangeStatus.QUEUED);

    releaseBlocker();
    expect((await watchToEnd(alice, blocker.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const done = await watchToEnd(alice, tried.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "tried" });
    expect(resource?.status).toBe(ResourceStatus.READY);
  });

  it("is still accepted for a change no attempt has touched", async () => {
    releaseBlocker(); // Already done unless the test before failed half-way.
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "untouched",
      spec: { size: 1 },
      requestId: "untouched-1",
    });
    const reviewed = await alice.resources.deleteResource({
      type: "test.widget",
      name: "untouched",
      requestId: "untouched-2",
    });
    expect(reviewed.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const cancelled = await alice.changes.cancelChange({ id: reviewed.change!.id, comment: "keep it" });
    expect(cancelled.change?.status).toBe(ChangeStatus.CANCELLED);
    expect((await watchToEnd(alice, created.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
  });
});
