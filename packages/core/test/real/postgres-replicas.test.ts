import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";
import { realDataDir, topicPartitions } from "../support/real-service.ts";

const serverScript = join(import.meta.dirname, "../support/real-engine-server.ts");
const running: ChildProcess[] = [];

interface Replica {
  clients: Clients;
  child: ChildProcess;
}

/** A replica in its own process (and process group, so a kill takes Pulumi's children with it). */
async function startReplica(bootstrapServers: string, url: string, crash: string[] = []): Promise<Replica> {
  const dataDir = realDataDir();
  const child = spawn(process.execPath, ["--import", "tsx", serverScript, dataDir, bootstrapServers, ...crash], {
    cwd: join(import.meta.dirname, "../.."),
    env: { ...process.env, PLINTH_TEST_STORE_URL: url },
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
  return { clients: clientsFor(serving, principals.requester.token), child };
}

function killGroup(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid!, "SIGKILL");
  return exited;
}

/** Follows a change to its end; returns it and how many times it entered SUCCEEDED. */
async function follow(clients: Clients, id: string) {
  let status = ChangeStatus.UNSPECIFIED;
  let attempts = 0;
  let successes = 0;
  for await (const update of clients.changes.watchChange({ id })) {
    status = update.change?.status ?? status;
    attempts = update.change?.attempts ?? attempts;
    if (update.event?.status === ChangeStatus.SUCCEEDED) successes += 1;
  }
  return { status, attempts, successes };
}

const spec = { cluster: "local", partitions: 2, owner: { team: "payments", contact: "#payments" } };

describe("Plinth replicas sharing one PostgreSQL store", { timeout: 900_000 }, () => {
  let broker: KafkaBroker;
  let database: PostgresServer;
  let url: string;
  beforeAll(async () => {
    [broker, database] = await Promise.all([startKafka(), startPostgres()]);
    // The Pulumi backend (Go) wants TLS unless told otherwise; the test server has none.
    url = `${database.connectionString}?sslmode=disable`;
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

  it("applies every topic creation once, replays and a replica killed mid-apply included", async () => {
    // Replica 1 is killed in the middle of its first Pulumi update: the topic may exist, its state not.
    const marker = join(realDataDir(), "crash-marker");
    const doomed = await startReplica(broker.bootstrapServers, url, ["during-up", marker]);
    const interrupted = await doomed.clients.resources.applyResource({
      type: "kafka.topic",
      name: "replicated.interrupted",
      spec,
      requestId: "create-interrupted",
    });
    await waitFor(
      async () => {
        if (!existsSync(marker) || readFileSync(marker, "utf8") !== "during-up") throw new Error("not there yet");
      },
      { what: "replica 1 inside a Pulumi update", timeoutMs: 240_000 },
    );
    await killGroup(doomed.child);
    const others = await Promise.all([1, 2].map(() => startReplica(broker.bootstrapServers, url)));
    const topics = Array.from({ length: 6 }, (_, i) => `replicated.${i}`);
    // Each creation is sent to every replica at once with one request id: a client retrying across the
    // load balancer. Every replay must name the same change.
    const submitted = await Promise.all(
      topics.map(async (name) => {
        const replies = await Promise.all(
          others.map(({ clients }) =>
            clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: `create-${name}` }),
          ),
        );
        expect(new Set(replies.map((reply) => reply.change!.id)).size).toBe(1);
        return replies[0]!.change!.id;
      }),
    );

    // The survivors take the interrupted change over once its lease runs out, and apply the rest;
    // each change is followed on a replica other than the one that received it first.
    const [first, second] = others;
    const resumed = await follow(first!.clients, interrupted.change!.id);
    expect(resumed).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
    expect(resumed.attempts).toBeGreaterThanOrEqual(2);
    const outcomes = await Promise.all(submitted.map((id, i) => follow((i % 2 ? first : second)!.clients, id)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
    for (const name of [...topics, "replicated.interrupted"]) {
      expect(await topicPartitions(broker.bootstrapServers, name)).toBe(2);
      const { changes } = await second!.clients.changes.listChanges({ type: "kafka.topic", name });
      expect(changes).toHaveLength(1);
      const { revisions } = await first!.clients.resources.listRevisions({ type: "kafka.topic", name });
      expect(revisions).toHaveLength(1);
    }
  });
});
