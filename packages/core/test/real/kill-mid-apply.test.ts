import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { realDataDir, topicPartitions } from "../support/real-service.ts";
import {
  alive,
  descendants,
  killServer,
  killServerProcesses,
  startRealServerProcess,
} from "../support/real-server-process.ts";
import { clientsFor, principals } from "../support/test-service.ts";

afterEach(killServerProcesses);

describe("SIGKILL of the server (and its engine children) in the middle of an apply", { timeout: 400_000 }, () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await startKafka();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it.each(["before-up", "during-up", "after-up"])(
    "at %s: the next server converges, no duplicate, no lost change",
    async (point) => {
      const dataDir = realDataDir();
      const marker = join(dataDir, "crash-marker");
      const topic = `crash.${point}`;
      const first = await startRealServerProcess([dataDir, broker.bootstrapServers, point, marker]);
      const alice = clientsFor(first.url, principals.requester.token);
      const applied = await alice.resources.applyResource({
        type: "kafka.topic",
        name: topic,
        spec: { cluster: "local", partitions: 3, owner: { team: "payments", contact: "#payments" } },
        requestId: topic,
      });
      await waitFor(
        async () => {
          if (!existsSync(marker) || readFileSync(marker, "utf8") !== point) throw new Error("not there yet");
        },
        { what: `the ${point} point`, timeoutMs: 120_000 },
      );
      await killServer(first, "group");

      const second = await startRealServerProcess([dataDir, broker.bootstrapServers]);
      const after = clientsFor(second.url, principals.requester.token);
      const { change } = await watchToEnd(after, applied.change!.id);
      expect(change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(change.resultRevision).toBe(1n);
      expect(await topicPartitions(broker.bootstrapServers, topic)).toBe(3);
      const { revisions } = await after.resources.listRevisions({ type: "kafka.topic", name: topic });
      expect(revisions).toHaveLength(1);
      // The stack is healthy: a further change applies without lock or pending-operation errors.
      const grow = await after.resources.applyResource({
        type: "kafka.topic",
        name: topic,
        spec: { cluster: "local", partitions: 4, owner: { team: "payments", contact: "#payments" } },
        requestId: `${topic}-grow`,
      });
      expect((await watchToEnd(after, grow.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(await topicPartitions(broker.bootstrapServers, topic)).toBe(4);
      await killServer(second, "group");
    },
  );

  it("SIGKILL of the server's pid alone, the create in flight: its engine child stops on its own, the next server converges once", async () => {
    const dataDir = realDataDir();
    const topic = "crash.pid-only";
    const marker = join(dataDir, "hold-marker");
    const first = await startRealServerProcess([dataDir, broker.bootstrapServers, "hold-before-up", marker]);
    const alice = clientsFor(first.url, principals.requester.token);
    let orphans: number[] = [];
    try {
      // Accepted while the broker answers (a create first checks that no unmanaged topic has the name).
      const applied = await alice.resources.applyResource({
        type: "kafka.topic",
        name: topic,
        spec: { cluster: "local", partitions: 3, owner: { team: "payments", contact: "#payments" } },
        requestId: topic,
      });
      await waitFor(
        async () => {
          if (!existsSync(marker)) throw new Error("not claimed yet");
        },
        { what: "the engine to be about to run", timeoutMs: 120_000 },
      );
      // Frozen, the broker holds the topic's create in flight: Pulumi, interrupted, would wait for it for good.
      broker.freeze();
      writeFileSync(`${marker}.go`, "");
      for await (const update of alice.changes.watchChange({ id: applied.change!.id })) {
        if (/^create kafka:index\/topic:Topic .*: started$/.test(update.event?.message ?? "")) break;
      }
      // The engine child leads a process group of its own: it, the Pulumi CLI and the provider outlive this kill.
      orphans = descendants(first.child.pid!);
      expect(orphans.length).toBeGreaterThanOrEqual(2);
      await killServer(first, "pid");

      // The next server starts at once: its attempt must not clear the lock of the orphan's live CLI.
      const second = await startRealServerProcess([dataDir, broker.bootstrapServers]);
      // Still frozen: only the child's own deadline (cancel, then kill after the engine's 10 s grace) ends them.
      await waitFor(async () => expect(alive(orphans)).toEqual([]), {
        what: "the dead server's engine child, CLI and provider to end",
        timeoutMs: 60_000,
      });
      broker.thaw();

      const after = clientsFor(second.url, principals.requester.token);
      const { change } = await watchToEnd(after, applied.change!.id);
      expect(change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(change.resultRevision).toBe(1n);
      expect(await topicPartitions(broker.bootstrapServers, topic)).toBe(3);
      const { revisions } = await after.resources.listRevisions({ type: "kafka.topic", name: topic });
      expect(revisions).toHaveLength(1);
      // Pulumi's state holds the topic once: growing it updates in place, no "already exists", no lock error.
      const grow = await after.resources.applyResource({
        type: "kafka.topic",
        name: topic,
        spec: { cluster: "local", partitions: 4, owner: { team: "payments", contact: "#payments" } },
        requestId: `${topic}-grow`,
      });
      expect((await watchToEnd(after, grow.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(await topicPartitions(broker.bootstrapServers, topic)).toBe(4);
      await killServer(second, "group");
    } finally {
      broker.thaw();
      for (const pid of alive(orphans)) process.kill(pid, "SIGKILL");
    }
  });
});
