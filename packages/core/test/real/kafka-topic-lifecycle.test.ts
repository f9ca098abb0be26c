import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { deleteTopicOutOfBand, startRealService, topicPartitions } from "../support/real-service.ts";
import type { TestService } from "../support/test-service.ts";

// Everything real: server, SQLite, worker, Pulumi CLI and Kafka provider, broker.
describe("kafka.topic through Plinth, the Pulumi engine and a real broker", { timeout: 400_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  beforeAll(async () => {
    broker = await startKafka();
    service = await startRealService(broker.bootstrapServers);
  });
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });
  const topic = (spec: Record<string, unknown>) => ({
    type: "kafka.topic",
    name: "orders.v1",
    spec: { cluster: "local", owner: { team: "payments", contact: "#payments" }, ...spec },
  });

  it("creates, verifies, grows, reports drift, repairs it, and deletes after review", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({ ...topic({ partitions: 3 }), requestId: "t1" });
    const first = await watchToEnd(alice, created.change!.id);
    expect(first.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(first.messages.some((m) => m.startsWith("verified"))).toBe(true);
    expect(first.messages.some((m) => m.includes("kafka:index/topic:Topic"))).toBe(true);
    expect(await topicPartitions(broker.bootstrapServers, "orders.v1")).toBe(3);
    const { resource } = await alice.resources.getResource({ type: "kafka.topic", name: "orders.v1" });
    expect(resource?.outputs).toMatchObject({ topic: "orders.v1", partitions: 3 });

    const grown = await alice.resources.applyResource({ ...topic({ partitions: 6 }), requestId: "t2" });
    expect((await watchToEnd(alice, grown.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(await topicPartitions(broker.bootstrapServers, "orders.v1")).toBe(6);
    const again = await alice.resources.applyResource({ ...topic({ partitions: 6 }), requestId: "t3" });
    expect(again.noOp).toBe(true);

    // Out of band: someone deletes the topic by hand.
    await deleteTopicOutOfBand(broker.bootstrapServers, "orders.v1");
    const repair = await alice.resources.reconcileResource({ type: "kafka.topic", name: "orders.v1", requestId: "t4" });
    expect((await watchToEnd(alice, repair.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(await topicPartitions(broker.bootstrapServers, "orders.v1")).toBe(6);

    const deletion = await alice.resources.deleteResource({ type: "kafka.topic", name: "orders.v1", requestId: "t5" });
    expect(deletion.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await service.as("reviewer").changes.approveChange({ id: deletion.change!.id, comment: "ok" });
    const deleted = await watchToEnd(alice, deletion.change!.id);
    expect(deleted.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(deleted.messages.some((m) => m.startsWith("verified gone"))).toBe(true);
    const gone = await alice.resources.getResource({ type: "kafka.topic", name: "orders.v1" });
    expect(gone.resource?.status).toBe(ResourceStatus.DELETED);
    expect(await topicPartitions(broker.bootstrapServers, "orders.v1")).toBeUndefined();
  });

  it("keeps retrying while the broker is down and completes when it returns", async () => {
    const alice = service.as("requester");
    // A create is refused up front while the broker is down (it could not check for an unmanaged twin): the
    // outage here hits an update, which the worker must retry until the broker is back.
    const made = await alice.resources.applyResource({
      ...topic({ partitions: 2 }),
      name: "outage.v1",
      requestId: "o0",
    });
    expect((await watchToEnd(alice, made.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    await broker.halt();
    const created = await alice.resources.applyResource({
      ...topic({ partitions: 3 }),
      name: "outage.v1",
      requestId: "o1",
    });
    const retrying = await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: created.change!.id });
        if (!change?.lastError) throw new Error("no failed attempt yet");
        return change;
      },
      { what: "a failed attempt while the broker is down", timeoutMs: 120_000 },
    );
    expect([ChangeStatus.QUEUED, ChangeStatus.APPLYING]).toContain(retrying.status);
    await broker.resume();
    const done = await watchToEnd(alice, created.change!.id);
    expect(done.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(done.change.attempts).toBeGreaterThan(1);
    expect(await topicPartitions(broker.bootstrapServers, "outage.v1")).toBe(3);
  });
});
