import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineChildEvent } from "../../src/index.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
import { startRealService, topicPartitions } from "../support/real-service.ts";
import type { TestService } from "../support/test-service.ts";

const topicCreateStarted = /^create kafka:index\/topic:Topic .*: started$/;

// Real server, engine, Pulumi CLI, Kafka provider and broker; the engine keeps two warm children.
describe("a warm engine child that crashes mid-operation", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  const children: EngineChildEvent[] = [];
  beforeAll(async () => {
    broker = await startKafka();
    service = await startRealService(broker.bootstrapServers, {
      engine: { onChild: (event) => children.push(event) },
    });
  });
  afterAll(async () => {
    broker?.thaw();
    await service?.close();
    await broker?.stop();
  });

  const topic = (name: string) => ({
    type: "kafka.topic",
    name,
    spec: { cluster: "local", partitions: 2, owner: { team: "payments", contact: "#payments" } },
    requestId: name,
  });

  it("fails only its own operation, which retries and converges; the other change and the pool carry on", async () => {
    const alice = service.as("requester");
    // Both children must be warm (started before they were needed) for this to be about warm children.
    await waitFor(async () => expect(children.filter((event) => event.phase === "ready").length).toBe(2), {
      what: "two warm engine children",
      timeoutMs: 120_000,
    });
    const victim = await alice.resources.applyResource(topic("crash.victim"));
    const bystander = await alice.resources.applyResource(topic("crash.bystander"));
    // Frozen, the broker holds both creates in flight: both operations run, each in its own child, when the kill lands.
    broker.freeze();
    const inFlight = async (id: string) => {
      for await (const update of alice.changes.watchChange({ id })) {
        if (topicCreateStarted.test(update.event?.message ?? "")) return;
      }
      throw new Error(`change ${id} ended before its create started`);
    };
    let victimPid: number | undefined;
    try {
      await Promise.all([inFlight(victim.change!.id), inFlight(bystander.change!.id)]);
      const assigned = (stack: string) =>
        children.findLast((event) => event.phase === "assigned" && event.stackName === stack);
      const victimChild = assigned("kafka.topic--crash.victim");
      const bystanderChild = assigned("kafka.topic--crash.bystander");
      expect(victimChild?.pid).toBeDefined();
      expect(bystanderChild?.pid).not.toBe(victimChild?.pid);
      // The child leads its process group: the child, its Pulumi CLI and the provider, as in a crash.
      victimPid = victimChild!.pid;
      process.kill(-victimPid, "SIGKILL");
    } finally {
      broker.thaw();
    }

    const [victimEnd, bystanderEnd] = await Promise.all([
      watchToEnd(alice, victim.change!.id),
      watchToEnd(alice, bystander.change!.id),
    ]);
    // The bystander's operation was never touched: one attempt, no retry.
    expect(bystanderEnd.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(bystanderEnd.change.attempts).toBe(1);
    // The victim's attempt failed retryable (the child's death is named) and the retry converged.
    expect(victimEnd.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(victimEnd.change.attempts).toBeGreaterThanOrEqual(2);
    expect(victimEnd.messages.some((message) => message.includes("SIGKILL"))).toBe(true);
    expect(await topicPartitions(broker.bootstrapServers, "crash.victim")).toBe(2);
    expect(await topicPartitions(broker.bootstrapServers, "crash.bystander")).toBe(2);

    // The pool replaced the dead child and keeps working.
    const after = await alice.resources.applyResource(topic("crash.after"));
    const afterEnd = await watchToEnd(alice, after.change!.id);
    expect(afterEnd.change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(afterEnd.change.attempts).toBe(1);
    const exited = children.filter((event) => event.phase === "exited").map((event) => event.pid);
    expect(exited).toContain(victimPid);
  });
});
