import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as pace } from "node:timers/promises";
import { Admin } from "@platformatic/kafka";
import { createPlinthClient } from "@plinth/sdk";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";
import { realDataDir } from "../support/real-service.ts";

const serverScript = join(import.meta.dirname, "../support/real-engine-server.ts");
const running = new Set<ChildProcess>();

interface Replica {
  url: string;
  clients: Clients;
  child: ChildProcess;
}

/**
 * A replica in its own process (and process group, so a kill takes Pulumi's children with it), on `port`
 * so that a restarted replica is found where its clients know it. `crash`: a crash point and its marker.
 */
async function startReplica(bootstrapServers: string, storeUrl: string, port: number, crash: string[] = []) {
  const child = spawn(process.execPath, ["--import", "tsx", serverScript, realDataDir(), bootstrapServers, ...crash], {
    cwd: join(import.meta.dirname, "../.."),
    env: { ...process.env, PLINTH_TEST_STORE_URL: storeUrl, PLINTH_TEST_PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    // Its log (PLINTH_TEST_LOG=info to see it) goes to this process's stderr.
    lines.on("line", (line) =>
      line.startsWith("READY ") ? resolve(line.slice(6)) : process.stderr.write(`${line}\n`),
    );
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before it was ready`)));
  });
  return { url, clients: clientsFor(url, principals.requester.token), child } satisfies Replica;
}

/**
 * A free port below Linux's ephemeral range (32768 and up): a replica restarts on its port, and meanwhile an
 * outgoing connection (a pool, a Kafka client) could be handed a port from that range, never one below it.
 */
async function stablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function killGroup(child: ChildProcess): Promise<void> {
  const gone = exited(child);
  process.kill(-child.pid!, "SIGKILL");
  await gone;
}

async function markerReads(marker: string, point: string, what: string) {
  await waitFor(
    async () => {
      if (!existsSync(marker) || readFileSync(marker, "utf8") !== point) throw new Error("not there yet");
    },
    { what, timeoutMs: 300_000 },
  );
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

async function brokerTopics(bootstrapServers: string): Promise<Set<string>> {
  const admin = new Admin({ clientId: "plinth-test-check", bootstrapBrokers: [bootstrapServers] });
  try {
    return new Set(await admin.listTopics());
  } finally {
    await admin.close();
  }
}

const spec = { cluster: "local", partitions: 1, owner: { team: "payments", contact: "#payments" } };

describe("three Plinth replicas sharing one PostgreSQL store", { timeout: 1_200_000 }, () => {
  let broker: KafkaBroker;
  let database: PostgresServer;
  let storeUrl: string;
  let ports: number[];
  // The three live replicas, by port, once the first test has run.
  const replicas: Replica[] = [];
  const start = (port: number, crash: string[] = []) => startReplica(broker.bootstrapServers, storeUrl, port, crash);

  beforeAll(async () => {
    [broker, database] = await Promise.all([startKafka(), startPostgres()]);
    // The Pulumi backend (Go) wants TLS unless told otherwise; the test server has none.
    storeUrl = `${database.connectionString}?sslmode=disable`;
    ports = [];
    while (ports.length < 3) {
      const port = await stablePort();
      if (!ports.includes(port)) ports.push(port);
    }
  }, 300_000);
  afterAll(async () => {
    for (const child of running) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await Promise.all([broker?.stop(), database?.stop()]);
  });

  it("applies 50 creations spread over the replicas once each, one replica SIGKILLed mid-apply; a watch on one replica follows a change another applies", async () => {
    // Replica B starts alone and claims the first change; it holds it (inside engine.apply, its lease
    // renewed) until told to go, so that change is B's to apply whatever the others do.
    const holdMarker = join(realDataDir(), "hold-marker");
    const b = await start(ports[1]!, ["hold-before-up", holdMarker]);
    const held = await b.clients.resources.applyResource({
      type: "kafka.topic",
      name: "replicated.held",
      spec,
      requestId: "create-held",
    });
    await markerReads(holdMarker, "hold-before-up", "replica B holding its change");
    // Replica doomed is killed in the middle of its first Pulumi update: the topic may exist, its state not.
    const crashMarker = join(realDataDir(), "crash-marker");
    const [doomed, a] = await Promise.all([start(ports[0]!, ["during-up", crashMarker]), start(ports[2]!)]);
    const watched = follow(a!.clients, held.change!.id);

    // Each creation goes to one replica and is replayed, with its request id, on the next: a client
    // retrying across the load balancer. Both must name the same change.
    const live = [doomed, b, a];
    const names = Array.from({ length: 50 }, (_, i) => `replicated.${i}`);
    const submitted = await Promise.all(
      names.map(async (name, i) => {
        const request = { type: "kafka.topic", name, spec, requestId: `create-${name}` };
        const first = await live[i % 3]!.clients.resources.applyResource(request);
        const replay = await live[(i + 1) % 3]!.clients.resources.applyResource(request);
        expect(replay.change!.id).toBe(first.change!.id);
        return first.change!.id;
      }),
    );
    await markerReads(crashMarker, "during-up", "the doomed replica inside a Pulumi update");
    await killGroup(doomed.child);
    writeFileSync(`${holdMarker}.go`, "");
    // A replacement where the dead one was, so three replicas run on.
    replicas.push(await start(ports[0]!), b, a);

    expect(await watched).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
    // Each change is followed on a replica other than the one that received it.
    const outcomes = await Promise.all(submitted.map((id, i) => follow(replicas[(i + 2) % 3]!.clients, id)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
    // The survivors took the doomed replica's change over once its lease ran out.
    expect(outcomes.some((outcome) => outcome.attempts >= 2)).toBe(true);
    const onBroker = await brokerTopics(broker.bootstrapServers);
    for (const name of [...names, "replicated.held"]) {
      expect(onBroker.has(name), `${name} on the broker`).toBe(true);
      const { changes } = await replicas[0]!.clients.changes.listChanges({ type: "kafka.topic", name });
      expect(changes).toHaveLength(1);
    }
  });

  it("rolls a restart through all three replicas under steady submissions: no failed request, no lost change", async () => {
    // Run alone (-t), it starts its own three.
    if (replicas.length === 0) replicas.push(...(await Promise.all(ports.map((port) => start(port)))));
    // A client that knows every replica (no load balancer here) and retries with the SDK's defaults.
    const client = createPlinthClient({ baseUrl: replicas.map((r) => r.url), token: principals.requester.token });
    const accepted: string[] = [];
    const failures: unknown[] = [];
    let restarting = true;
    const submitting = (async () => {
      for (let i = 0; restarting && i < 60; i++) {
        try {
          const { change } = await client.apply("kafka.topic", `rolled.${i}`, spec);
          accepted.push(change!.id);
        } catch (error) {
          failures.push(error);
        }
        // A steady trickle, not a flood: each creation is a real Pulumi update on two cores.
        await pace(2_000);
      }
    })();

    for (const [index, replica] of replicas.entries()) {
      // A submission lands before each stop, so every stop happens under traffic.
      const before = accepted.length + failures.length;
      await waitFor(
        async () => {
          if (accepted.length + failures.length <= before) throw new Error("no new submission yet");
        },
        { what: "submissions before a restart", timeoutMs: 60_000 },
      );
      const code = exited(replica.child);
      replica.child.kill("SIGTERM");
      expect(await code).toBe(0);
      replicas[index] = await start(ports[index]!);
    }
    restarting = false;
    await submitting;

    expect(failures).toEqual([]);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    const finals = await Promise.all(accepted.map((id) => client.waitForChange(id)));
    for (const change of finals) expect(change.status).toBe(ChangeStatus.SUCCEEDED);
    const onBroker = await brokerTopics(broker.bootstrapServers);
    for (let i = 0; i < accepted.length; i++) expect(onBroker.has(`rolled.${i}`), `rolled.${i}`).toBe(true);
  });
});
