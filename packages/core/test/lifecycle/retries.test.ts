import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { afterEach, describe, expect, it } from "vitest";
import { EngineError, type EngineRequest } from "../../src/index.ts";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("queue and retries", () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  /** An engine that fails the first `failures` applies of each resource with `error`. */
  function flakyEngine(failures: number, error: () => Error) {
    const seen = new Map<string, number>();
    return createFakeEngine({
      apply: async (request: EngineRequest) => {
        const count = (seen.get(request.name) ?? 0) + 1;
        seen.set(request.name, count);
        if (count <= failures) throw error();
        return { outputs: { attempt: count }, secretOutputs: {} };
      },
    });
  }

  it("retries a retryable failure with backoff and succeeds, keeping the last error visible meanwhile", async () => {
    service = await startTestService({
      engine: flakyEngine(2, () => new EngineError("broker unreachable", true, "TARGET_UNREACHABLE")),
    });
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "flaky",
      spec: { size: 1 },
      requestId: "f1",
    });
    const { change, messages } = await watchToEnd(alice, created.change!.id);
    expect(change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(change.attempts).toBe(3);
    expect(messages.filter((m) => m.includes("retrying"))).toHaveLength(2);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/plinth_change_retries_total\{type="test.widget"\} 2/);
  });

  it("fails after the attempt limit with the last error, and RetryChange re-queues it", async () => {
    service = await startTestService({
      engine: flakyEngine(3, () => new EngineError("broker unreachable", true, "TARGET_UNREACHABLE")),
    });
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "gives-up",
      spec: { size: 1 },
      requestId: "g1",
    });
    const failed = await watchToEnd(alice, created.change!.id);
    expect(failed.change.status).toBe(ChangeStatus.FAILED);
    expect(failed.change.attempts).toBe(3);
    expect(failed.change.lastError).toBe("broker unreachable");
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "gives-up" });
    expect(resource?.status).toBe(ResourceStatus.FAILED);

    const retried = await alice.changes.retryChange({ id: created.change!.id });
    expect(retried.change?.status).toBe(ChangeStatus.QUEUED);
    const done = await watchToEnd(alice, created.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(done.change.attempts).toBe(4);
  });

  it("does not retry a non-retryable failure", async () => {
    service = await startTestService({
      engine: flakyEngine(1, () => new EngineError("invalid topic config", false, "INVALID_INPUT")),
    });
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "bad",
      spec: { size: 1 },
      requestId: "b1",
    });
    const failed = await watchToEnd(alice, created.change!.id);
    expect(failed.change.status).toBe(ChangeStatus.FAILED);
    expect(failed.change.attempts).toBe(1);
    expect((await failure(alice.changes.retryChange({ id: "chg_nope" }))).code).toBe(Code.NotFound);
    expect((await failure(service.as("outsider").changes.retryChange({ id: created.change!.id }))).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("streams every transition to a watcher, ending when the change is final", async () => {
    service = await startTestService();
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "watched",
      spec: { size: 1 },
      requestId: "w1",
    });
    const statuses: ChangeStatus[] = [];
    for await (const update of alice.changes.watchChange({ id: created.change!.id })) {
      if (update.event?.kind === "status") statuses.push(update.event.status);
    }
    expect(statuses).toEqual([ChangeStatus.QUEUED, ChangeStatus.APPLYING, ChangeStatus.SUCCEEDED]);
    // Resuming after a sequence sends only what came later.
    const rest = [];
    for await (const update of alice.changes.watchChange({ id: created.change!.id, afterSequence: 2n }))
      rest.push(update.event?.sequence);
    expect(rest[0]).toBe(3n);
  });
});
