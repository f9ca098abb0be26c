import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as pace } from "node:timers/promises";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Admin } from "@platformatic/kafka";
import { createPlinthClient } from "@plinth/sdk";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type KafkaBroker, type PostgresServer, freePort, startKafka, startPostgres, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveEngineSettings } from "../../src/engine/pulumi/resolve-engine-settings.ts";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";
import { deleteTopicOutOfBand, realDataDir } from "../support/real-service.ts";
import { runRunbook } from "../support/runbook.ts";
import { scrapeMetric } from "../support/scrape-metric.ts";

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
async function startReplica(
  bootstrapServers: string,
  storeUrl: string,
  port: number,
  crash: string[] = [],
  /** `env`: more of the replica's environment; `onLine`: takes its log lines instead of this stderr. */
  more: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
) {
  const child = spawn(process.execPath, ["--import", "tsx", serverScript, realDataDir(), bootstrapServers, ...crash], {
    cwd: join(import.meta.dirname, "../.."),
    env: { ...process.env, PLINTH_TEST_STORE_URL: storeUrl, PLINTH_TEST_PORT: String(port), ...more.env },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    // Its log (PLINTH_TEST_LOG=info to see it) goes to this process's stderr.
    lines.on("line", (line) => {
      if (line.startsWith("READY ")) resolve(line.slice(6));
      else if (more.onLine) more.onLine(line);
      else process.stderr.write(`${line}\n`);
    });
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before it was ready`)));
  });
  return { url, clients: clientsFor(url, principals.requester.token), child } satisfies Replica;
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

/**
 * The lease of the replicas below but the doomed one. Long, so that a change left to its lease after a stop could
 * not pass for one handed over (see the rolling restart), and so that a loaded machine's stalls do not make leases
 * lapse. No drain time: a stopped replica hands over every change it holds, which the rolling restart checks.
 */
const leaseMs = 180_000;
const longLease = { PLINTH_TEST_WORKER: JSON.stringify({ leaseMs, drainMs: 0 }) };

describe("three Plinth replicas sharing one PostgreSQL store", { timeout: 1_200_000 }, () => {
  let broker: KafkaBroker;
  let database: PostgresServer;
  let storeUrl: string;
  let ports: number[];
  // The three live replicas, by port, once the first test has run.
  const replicas: Replica[] = [];
  // `env` {}: the test config's own 3 s lease, for a replica whose changes others take over once it is killed.
  const start = (port: number, crash: string[] = [], env: Record<string, string> = longLease) =>
    startReplica(broker.bootstrapServers, storeUrl, port, crash, { env });

  beforeAll(async () => {
    [broker, database] = await Promise.all([startKafka(), startPostgres()]);
    // The Pulumi backend (Go) wants TLS unless told otherwise; the test server has none.
    storeUrl = `${database.connectionString}?sslmode=disable`;
    ports = [];
    while (ports.length < 3) {
      const port = await freePort();
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
    const [doomed, a] = await Promise.all([start(ports[0]!, ["during-up", crashMarker], {}), start(ports[2]!)]);
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

  /**
   * Whether `replica` holds one of `ids` mid-attempt: the change is APPLYING and its latest attempt was claimed by
   * that replica's process (the claim's event names the worker, `host:pid:random`).
   */
  async function holdsAnAttempt(asker: Replica, replica: Replica, ids: string[]): Promise<boolean> {
    const { changes } = await asker.clients.changes.listChanges({ status: ChangeStatus.APPLYING, pageSize: 500 });
    for (const { id } of changes.filter((change) => ids.includes(change.id))) {
      const { events } = await asker.clients.changes.getChange({ id });
      const claim = events.findLast((event) => /^attempt \d+: (applying|resuming)/.test(event.message));
      if (String(claim?.details?.worker ?? "").split(":")[1] === String(replica.child.pid)) return true;
    }
    return false;
  }

  it("rolls a restart through all three replicas under steady submissions: no failed request, no lost change, no attempt lost, no lease waited", async () => {
    // Run alone (-t), or after the first test failed, it starts its own three, where that test's may still run.
    if (replicas.length === 0) {
      await Promise.all([...running].map((child) => killGroup(child)));
      replicas.push(...(await Promise.all(ports.map((port) => start(port)))));
    }
    // A client that knows every replica (no load balancer here) and retries with the SDK's defaults.
    const client = createPlinthClient({ baseUrl: replicas.map((r) => r.url), token: principals.requester.token });
    const accepted: string[] = [];
    const failures: unknown[] = [];
    let restarting = true;
    const submitting = (async () => {
      for (let i = 0; restarting && i < 120; i++) {
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

    // When each replica was sent SIGTERM, by its pid (which the handover events name).
    const stoppedAt = new Map<string, number>();
    for (const [index, replica] of replicas.entries()) {
      // Each replica is stopped in the middle of an attempt it holds, so that stops hand changes over.
      const asker = replicas[(index + 1) % replicas.length]!;
      await waitFor(
        async () => {
          if (!(await holdsAnAttempt(asker, replica, [...accepted])))
            throw new Error("the replica holds no change mid-attempt");
        },
        { what: `replica ${index} applying a change before its restart`, timeoutMs: 300_000 },
      );
      // docs/operating.md's rolling upgrade, as the doc has it: stop, wait until gone, start, wait until ready.
      const code = exited(replica.child);
      stoppedAt.set(String(replica.child.pid), Date.now());
      await runRunbook("rolling-stop", { cwd: tmpdir(), env: { REPLICA_PID: String(replica.child.pid) } });
      expect(await code).toBe(0);
      replicas[index] = await start(ports[index]!);
      await runRunbook("rolling-ready", { cwd: tmpdir(), env: { REPLICA_URL: replicas[index]!.url } });
    }
    restarting = false;
    await submitting;

    expect(failures).toEqual([]);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    // One watch at a time: a principal may hold only limits.maxWatchesPerPrincipal (32) at once, and the changes
    // apply meanwhile whoever waits on them.
    for (const id of accepted) expect((await client.waitForChange(id)).status).toBe(ChangeStatus.SUCCEEDED);
    const onBroker = await brokerTopics(broker.bootstrapServers);
    for (let i = 0; i < accepted.length; i++) expect(onBroker.has(`rolled.${i}`), `rolled.${i}`).toBe(true);

    // Every change in one attempt: the one a stop cut short was given back. And each handed-over change resumed
    // sooner than a lease wait could end: a lapsed lease frees a change no sooner than 2/3 of the lease after the
    // stop (renewals come every third of it), so half the lease is beyond any handover and short of any lease wait.
    const handedOver: Array<{ by: string; afterStopMs: number }> = [];
    for (const id of accepted) {
      const { change, events } = await replicas[0]!.clients.changes.getChange({ id });
      const messages = events.map((event) => event.message);
      expect(change!.attempts, `${id}: ${messages.join(" | ")}`).toBe(1);
      const handover = events.find((event) => /stopped and handed over/.test(event.message));
      if (!handover) continue;
      const by = String(handover.details?.worker ?? "").split(":")[1]!;
      const resumed = events.find(
        (event) => event.sequence > handover.sequence && /^attempt 1: resuming/.test(event.message),
      );
      expect(resumed, `${id} resumed after its handover: ${messages.join(" | ")}`).toBeDefined();
      handedOver.push({ by, afterStopMs: timestampMs(resumed!.time!) - stoppedAt.get(by)! });
    }
    process.stderr.write(`rolling restart: handed over and resumed ${JSON.stringify(handedOver)}\n`);
    // Each replica was stopped mid-attempt, though a change may still finish between that check and the SIGTERM.
    expect(handedOver.length).toBeGreaterThan(0);
    for (const { by } of handedOver) expect(stoppedAt.has(by), `handed over by ${by}`).toBe(true);
    for (const { afterStopMs } of handedOver) expect(afterStopMs).toBeLessThan(leaseMs / 2);
  });

  it("fences a replica SIGSTOPped mid-apply: resumed after another took over, the stack has one update and the change SUCCEEDED once", async () => {
    // The replicas above would claim the create as readily as the one to pause: stopped, so that it alone can.
    for (const replica of replicas.splice(0)) {
      const code = exited(replica.child);
      replica.child.kill("SIGTERM");
      await code;
    }
    const [pausedPort, takerPort] = [await freePort(), await freePort()];
    const marker = join(realDataDir(), "pause-marker");
    const paused = await startReplica(broker.bootstrapServers, storeUrl, pausedPort, ["during-up", marker]);
    const name = "fenced.paused";
    // Sent again with its request id while the loaded machine answers UNAVAILABLE, as the SDK would.
    const { change } = await waitFor(
      () => paused.clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: `create-${name}` }),
      { what: "the create accepted", timeoutMs: 120_000 },
    );
    await markerReads(marker, "during-up", "the replica to pause inside a Pulumi update");
    // The create stays in flight (the broker answers nothing until thawed), and the server process alone is
    // stopped, as a stuck or paused server would be: its engine child and Pulumi's processes run on.
    let taker: Replica | undefined;
    // Whatever fails below, neither replica outlives this test: a paused one would hold its sessions and lease
    // and stall the tests after it.
    try {
      broker.freeze();
      process.kill(paused.child.pid!, "SIGSTOP");
      try {
        taker = await startReplica(broker.bootstrapServers, storeUrl, takerPort);
        await waitFor(
          async () => {
            const { change: now } = await taker!.clients.changes.getChange({ id: change!.id });
            if ((now?.attempts ?? 0) < 2) throw new Error("not taken over yet");
          },
          { what: "the other replica taking the change over after the lease", timeoutMs: 300_000 },
        );
      } finally {
        broker.thaw();
      }
      expect(await follow(taker.clients, change!.id)).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
      process.kill(paused.child.pid!, "SIGCONT");
      // Resumed, it serves again, finds its lease gone and leaves the change as it is.
      expect(await follow(paused.clients, change!.id)).toMatchObject({ status: ChangeStatus.SUCCEEDED, successes: 1 });
      expect((await brokerTopics(broker.bootstrapServers)).has(name)).toBe(true);

      // Pulumi's own record of the stack: never two operations at once, and one update.
      const settings = resolveEngineSettings({ dataDir: realDataDir(), passphrase: "test-passphrase" });
      const history = JSON.parse(
        execFileSync(
          join(settings.pulumiRoot, "bin/pulumi"),
          ["stack", "history", "--json", "--stack", `organization/plinth/kafka.topic--${name}`],
          {
            cwd: settings.workRoot,
            env: {
              ...process.env,
              PULUMI_BACKEND_URL: storeUrl,
              PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
              PULUMI_HOME: settings.pulumiHome,
              PULUMI_SKIP_UPDATE_CHECK: "true",
            },
            encoding: "utf8",
          },
        ),
      ) as Array<{ kind: string; result: string; startTime: string; endTime: string }>;
      const spans = history
        .map((entry) => ({ ...entry, start: Date.parse(entry.startTime), end: Date.parse(entry.endTime) }))
        .sort((a, b) => a.start - b.start);
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i]!.start, `${spans[i]!.kind} after ${spans[i - 1]!.kind}`).toBeGreaterThanOrEqual(
          spans[i - 1]!.end,
        );
      }
      expect(history.filter((entry) => entry.kind === "update" && entry.result === "succeeded")).toHaveLength(1);
    } finally {
      if (paused.child.exitCode === null) process.kill(paused.child.pid!, "SIGCONT");
      for (const replica of [paused, taker])
        if (replica && replica.child.exitCode === null) await killGroup(replica.child);
    }
  });

  /** The change's status, attempts and event messages, as a replica reports them. */
  async function changeOn(replica: Replica, id: string) {
    const { change, events } = await replica.clients.changes.getChange({ id });
    return { status: change!.status, attempts: change!.attempts, messages: events.map((event) => event.message) };
  }

  it("hands a change over on SIGTERM: another replica resumes it at once, in the same attempt, without waiting the lease", async () => {
    // A lease far longer than this test waits: only a handover lets the other replica in. No drain time: the
    // replica stops its apply at once (see the next test for the drain).
    const env = { PLINTH_TEST_WORKER: JSON.stringify({ leaseMs: 600_000, drainMs: 0 }) };
    const marker = join(realDataDir(), "handover-marker");
    const leaving = await startReplica(broker.bootstrapServers, storeUrl, await freePort(), ["during-up", marker], {
      env,
    });
    const name = "handed.over";
    const { change } = await waitFor(
      () => leaving.clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: `create-${name}` }),
      { what: "the create accepted", timeoutMs: 120_000 },
    );
    await markerReads(marker, "during-up", "the replica to stop inside a Pulumi update");
    // The create stays in flight (the broker answers nothing) while the other replica starts.
    broker.freeze();
    let taker: Replica | undefined;
    try {
      taker = await startReplica(broker.bootstrapServers, storeUrl, await freePort(), [], { env });
      const code = exited(leaving.child);
      leaving.child.kill("SIGTERM");
      // Frozen until the handover is on record: thawed earlier, the update could finish before a loaded replica acts
      // on its SIGTERM, and nothing would be handed over. The stopped update is ended by the engine's kill grace.
      await waitFor(
        async () => {
          const now = await changeOn(taker!, change!.id);
          if (!now.messages.some((message) => /stopped and handed over/.test(message)))
            throw new Error(`not handed over yet: ${now.messages.join(" | ")}`);
        },
        { what: "the stopping replica handing its change over", timeoutMs: 120_000 },
      );
      broker.thaw();
      expect(await code).toBe(0);
      await waitFor(
        async () => {
          const now = await changeOn(taker!, change!.id);
          if (now.status !== ChangeStatus.SUCCEEDED) {
            throw new Error(`${ChangeStatus[now.status]}, attempts ${now.attempts}: ${now.messages.join(" | ")}`);
          }
        },
        {
          what: "the other replica finishing the handed-over change (a lease wait would take 10 min)",
          timeoutMs: 300_000,
        },
      );
      const done = await changeOn(taker, change!.id);
      expect(done.attempts).toBe(1);
      expect(done.messages.filter((message) => /stopped and handed over/.test(message))).toHaveLength(1);
      expect(done.messages.filter((message) => /^attempt \d+:/.test(message))).toEqual([
        "attempt 1: applying",
        expect.stringMatching(/^attempt 1: resuming/),
      ]);
      expect((await brokerTopics(broker.bootstrapServers)).has(name)).toBe(true);
    } finally {
      broker.thaw();
      if (taker) await killGroup(taker.child);
    }
  });

  it("lets a change finish on SIGTERM within worker.drainMs: the stopping replica applies it, in one attempt", async () => {
    const marker = join(realDataDir(), "drain-marker");
    const leaving = await startReplica(broker.bootstrapServers, storeUrl, await freePort(), ["during-up", marker], {
      env: { PLINTH_TEST_WORKER: JSON.stringify({ leaseMs: 600_000, drainMs: 300_000 }) },
    });
    const name = "drained.before.stop";
    const { change } = await waitFor(
      () => leaving.clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: `create-${name}` }),
      { what: "the create accepted", timeoutMs: 120_000 },
    );
    await markerReads(marker, "during-up", "the replica to stop inside a Pulumi update");
    const code = exited(leaving.child);
    leaving.child.kill("SIGTERM");
    expect(await code).toBe(0);
    // Asked on another replica once the stopped one is gone: nothing was left to a lease.
    const observer = await startReplica(broker.bootstrapServers, storeUrl, await freePort());
    try {
      const done = await changeOn(observer, change!.id);
      expect(done).toMatchObject({ status: ChangeStatus.SUCCEEDED, attempts: 1 });
      expect(done.messages.filter((message) => /handed over|resuming/.test(message))).toEqual([]);
      expect((await brokerTopics(broker.bootstrapServers)).has(name)).toBe(true);
    } finally {
      await killGroup(observer.child);
    }
  });

  it("shares reconcile rounds: two replicas observe each scope once per round, and one of them notices a deleted topic", async () => {
    // The replicas above apply but never reconcile: stopped, so that only the two below observe.
    for (const replica of replicas.splice(0)) {
      const code = exited(replica.child);
      replica.child.kill("SIGTERM");
      await code;
    }
    // What each observer logged that the reconciler says: which scope it observed in which round, and drift.
    const logged: Array<{
      by: number;
      msg: string;
      scope?: string;
      round?: number;
      resources?: number;
      suspects?: number;
      name?: string;
    }> = [];
    const observers = await Promise.all(
      [0, 1].map((by) =>
        startReplica(broker.bootstrapServers, storeUrl, ports[by]!, [], {
          env: { PLINTH_TEST_RECONCILE_MS: "2000", PLINTH_TEST_LOG: "info" },
          onLine: (line) => {
            if (!line.startsWith("{")) return;
            const entry = JSON.parse(line) as (typeof logged)[number];
            if (/^reconcile observed a scope$|drifted from its recorded revision/.test(entry.msg))
              logged.push({ ...entry, by });
          },
        }),
      ),
    );
    const names = ["rounds.kept", "rounds.gone", "rounds.also"];
    const created = await Promise.all(
      names.map((name, i) =>
        observers[i % 2]!.clients.resources.applyResource({
          type: "kafka.topic",
          name,
          spec,
          requestId: `create-${name}`,
        }),
      ),
    );
    for (const applied of created)
      expect(await follow(observers[0]!.clients, applied.change!.id)).toMatchObject({ status: ChangeStatus.SUCCEEDED });
    // Every settled topic in the store, these three and those of the tests above when they ran first.
    const { resources: topics } = await observers[0]!.clients.resources.listResources({
      type: "kafka.topic",
      pageSize: 500,
    });
    const settled = topics.filter((topic) =>
      [ResourceStatus.READY, ResourceStatus.DRIFTED].includes(topic.status),
    ).length;
    const fromRound = Math.floor(Date.now() / 2000) + 1;

    await deleteTopicOutOfBand(broker.bootstrapServers, "rounds.gone");
    await waitFor(
      async () => {
        const { resource } = await observers[1]!.clients.resources.getResource({
          type: "kafka.topic",
          name: "rounds.gone",
        });
        if (resource?.status !== ResourceStatus.DRIFTED)
          throw new Error(`still ${ResourceStatus[resource?.status ?? 0]}`);
      },
      { what: "rounds.gone DRIFTED", timeoutMs: 300_000 },
    );
    const observedScope = () => logged.filter((line) => line.msg === "reconcile observed a scope");
    const driftedRound = Math.max(...observedScope().map((line) => line.round!));
    await waitFor(
      async () => {
        // A round that began before the deletion may be the one that notices it: count from both.
        const lines = observedScope();
        if (lines.filter((line) => line.round! > driftedRound).length < 3)
          throw new Error("fewer than 3 rounds since the drift");
        if (lines.filter((line) => line.round! >= fromRound).length < 4)
          throw new Error("fewer than 4 rounds since the three were created");
      },
      { what: "three rounds after the drift, four after the creations", timeoutMs: 300_000 },
    );

    // A moment where both replicas' /metrics agree with their lines (a round may be between the two).
    const sumOver = (name: string, labels: Record<string, string> = {}) =>
      Promise.all(observers.map((observer) => scrapeMetric(observer.url, name, labels))).then(([a, b]) => a! + b!);
    const snapshot = await waitFor(
      async () => {
        const lines = observedScope();
        const bulk = await sumOver("plinth_reconcile_observations_total", { type: "kafka.topic", method: "bulk" });
        const refresh = await sumOver("plinth_reconcile_observations_total", {
          type: "kafka.topic",
          method: "refresh",
        });
        const rounds = await sumOver("plinth_reconcile_rounds_total");
        const sum = (key: "resources" | "suspects") => lines.reduce((total, line) => total + line[key]!, 0);
        if (lines.length !== observedScope().length || bulk !== sum("resources") || refresh !== sum("suspects"))
          throw new Error(
            `lines ${lines.length}, bulk ${bulk} vs ${sum("resources")}, refresh ${refresh} vs ${sum("suspects")}`,
          );
        return { lines, rounds };
      },
      { what: "metrics and log lines that agree", timeoutMs: 120_000 },
    );

    // Once per round: no scope and round twice, across both replicas, though both ran every round.
    const pairs = snapshot.lines.map((line) => `${line.scope}@${line.round}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(snapshot.lines.every((line) => line.scope === "kafka.topic/local")).toBe(true);
    expect(snapshot.rounds).toBeGreaterThan(pairs.length);
    // Every topic in every round since the three were created: observations = topics x rounds.
    const since = snapshot.lines.filter((line) => line.round! >= fromRound);
    expect(since.length).toBeGreaterThanOrEqual(4);
    expect(since.every((line) => line.resources === settled)).toBe(true);
    // The deleted topic: noticed by one replica, once; then checked in full once per round, by that round's observer.
    const drift = logged.filter((line) => line.msg === "resource drifted from its recorded revision");
    expect(drift).toHaveLength(1);
    expect(drift[0]!.name).toBe("rounds.gone");
    expect(snapshot.lines.filter((line) => line.round! > driftedRound).every((line) => line.suspects === 1)).toBe(true);
  });
});
