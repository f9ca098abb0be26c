import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";
import { realDataDir, topicPartitions } from "../support/real-service.ts";

const replicaScript = join(import.meta.dirname, "../support/postgres-replica-server.ts");
const running: ChildProcess[] = [];

/** A replica in its own process (and process group, so Pulumi's children go with it). */
async function startReplica(bootstrapServers: string, url: string): Promise<Clients> {
  const child = spawn(process.execPath, ["--import", "tsx", replicaScript, realDataDir(), bootstrapServers, url], {
    cwd: join(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  running.push(child);
  const lines = createInterface({ input: child.stdout! });
  const serving = await new Promise<string>((resolve, reject) => {
    // Its log (PLINTH_TEST_LOG=info to see it) goes to this process's stderr.
    lines.on("line", (line) =>
      line.startsWith("READY ") ? resolve(line.slice(6)) : process.stderr.write(`${line}\n`),
    );
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before it was ready`)));
  });
  return clientsFor(serving, principals.requester.token);
}

/** Follows a change to its end; returns it and how many times it entered SUCCEEDED. */
async function follow(clients: Clients, id: string): Promise<{ status: ChangeStatus; successes: number }> {
  let status = ChangeStatus.UNSPECIFIED;
  let successes = 0;
  for await (const update of clients.changes.watchChange({ id })) {
    status = update.change?.status ?? status;
    if (update.event?.status === ChangeStatus.SUCCEEDED) successes += 1;
  }
  return { status, successes };
}

describe("Plinth replicas sharing one PostgreSQL store", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let database: PostgresServer;
  let replicas: Clients[];
  beforeAll(async () => {
    [broker, database] = await Promise.all([startKafka(), startPostgres()]);
    // The Pulumi backend (Go) wants TLS unless told otherwise; the test server has none.
    const url = `${database.connectionString}?sslmode=disable`;
    // Started together: they race to migrate the empty database, and must still agree.
    replicas = await Promise.all([1, 2, 3].map(() => startReplica(broker.bootstrapServers, url)));
  }, 300_000);
  afterAll(async () => {
    for (const child of running.splice(0)) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await Promise.all([broker?.stop(), database?.stop()]);
  });

  it("applies topic creations spread across replicas once each, replays included", async () => {
    const topics = Array.from({ length: 6 }, (_, i) => `replicated.${i}`);
    const spec = { cluster: "local", partitions: 2, owner: { team: "payments", contact: "#payments" } };
    // Each creation is sent to every replica at once with one request id: a client retrying across the
    // load balancer. Every replay must name the same change.
    const submitted = await Promise.all(
      topics.map(async (name) => {
        const replies = await Promise.all(
          replicas.map((clients) =>
            clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: `create-${name}` }),
          ),
        );
        const ids = new Set(replies.map((reply) => reply.change!.id));
        expect(ids.size).toBe(1);
        return replies[0]!.change!.id;
      }),
    );
    // Each change is followed on a replica other than the one that received it first.
    const outcomes = await Promise.all(submitted.map((id, i) => follow(replicas[(i + 1) % replicas.length]!, id)));
    for (const outcome of outcomes) expect(outcome).toEqual({ status: ChangeStatus.SUCCEEDED, successes: 1 });
    for (const name of topics) {
      expect(await topicPartitions(broker.bootstrapServers, name)).toBe(2);
      const { changes } = await replicas[2]!.changes.listChanges({ type: "kafka.topic", name });
      expect(changes).toHaveLength(1);
      const { revisions } = await replicas[0]!.resources.listRevisions({ type: "kafka.topic", name });
      expect(revisions).toHaveLength(1);
    }
  });
});
