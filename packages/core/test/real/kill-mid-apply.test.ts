import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { realDataDir, topicPartitions } from "../support/real-service.ts";
import { clientsFor, principals } from "../support/test-service.ts";

const serverScript = join(import.meta.dirname, "../support/real-engine-server.ts");
const running: ChildProcess[] = [];

async function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  // Its own process group, so a kill takes the engine child and Pulumi's processes with it, as a crash would.
  const child = spawn(process.execPath, ["--import", "tsx", serverScript, ...args], {
    cwd: join(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  running.push(child);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => line.startsWith("READY ") && resolve(line.slice(6)));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready`)));
  });
  return { url, child };
}

function killGroup(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid!, "SIGKILL");
  return exited;
}

afterEach(() => {
  for (const child of running.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});

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
      const first = await startServer([dataDir, broker.bootstrapServers, point, marker]);
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
      await killGroup(first.child);

      const second = await startServer([dataDir, broker.bootstrapServers]);
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
      await killGroup(second.child);
    },
  );
});
