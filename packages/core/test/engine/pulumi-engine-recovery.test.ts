import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import type { EngineChildEvent } from "../../src/engine/pulumi/create-child-pool.ts";
import { type Engine, EngineError, type EngineEvent, type EngineRequest } from "../../src/index.ts";
import {
  createAdmin,
  engineDataDir,
  partitionsOnBroker,
  processesUsing,
  topicRequest,
} from "./support/engine-fixture.ts";
import { interruptCreate } from "./support/interrupt-create.ts";

const isTopicStep = (event: EngineEvent, phase: string): boolean =>
  event.kind === "resource" && event.details?.type === "kafka:index/topic:Topic" && event.details.phase === phase;

// One broker for the file; each describe has its own engine and data directory.
let broker: KafkaBroker;
let admin: Admin;
beforeAll(async () => {
  broker = await startKafka();
  admin = createAdmin(broker.bootstrapServers);
});
afterAll(async () => {
  await admin?.close();
  await broker?.stop();
});

describe("Pulumi engine: crash recovery", () => {
  let engine: Engine;
  let dataDir: string;
  const children: EngineChildEvent[] = [];
  beforeAll(() => {
    dataDir = engineDataDir();
    engine = createPulumiEngine({
      dataDir,
      passphrase: "recovery-test-passphrase",
      onChild: (event) => children.push(event),
    });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("an apply killed mid-update (child, CLI and provider) is retried to convergence, without a lock error", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    // Kill the moment the topic's create starts: the lock is held and the create is in flight. The broker is
    // frozen meanwhile, so the create cannot finish before the kill lands, however late the event arrives.
    broker.freeze();
    const crashed = topicRequest("crash-me", { partitions: 3 }, settings, {
      onEvent: (event) => {
        if (!isTopicStep(event, "started")) return;
        const child = children.findLast((c) => c.phase === "assigned" && c.stackName === "test.topic--crash-me");
        // The child leads its process group: -pid is the child, the Pulumi CLI and the Kafka provider, as in a machine crash.
        if (child) process.kill(-child.pid, "SIGKILL");
      },
    });
    const error = await engine
      .apply(crashed)
      .then(
        () => undefined,
        (reason: unknown) => reason,
      )
      .finally(() => broker.thaw());
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ code: "UNKNOWN", retryable: true });
    expect((error as Error).message).toContain("test.topic");
    expect((error as Error).message).toContain("SIGKILL");
    // The Kafka provider runs in a process group of its own; the engine must not leave it running.
    await waitFor(async () => expect(processesUsing(dataDir)).toEqual([]), {
      what: "no process left",
      timeoutMs: 10_000,
    });

    const retry = topicRequest("crash-me", { partitions: 3 }, settings, { attempt: 2 });
    const result = await engine.apply(retry);
    expect(result.outputs).toEqual({ topicName: "crash-me", partitions: 3 });
    expect(await partitionsOnBroker(admin, "crash-me")).toBe(3);
    const recovered = retry.events.filter(
      (event) => event.kind === "diagnostic" && event.details?.severity === "warning",
    );
    expect(recovered.map((event) => event.message).join("\n")).toMatch(
      /recovered from an interrupted update|stale lock/,
    );

    // State now knows the topic exactly once: a re-apply changes nothing and a destroy removes it.
    const again = topicRequest("crash-me", { partitions: 3 }, settings);
    await engine.apply(again);
    expect(again.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { same: 3 } } });
    await engine.destroy(topicRequest("crash-me", { partitions: 3 }, settings, { kind: "DELETE" }));
    expect(await partitionsOnBroker(admin, "crash-me")).toBeUndefined();
  });

  it("cancelling through the request's signal stops the child and the next apply converges", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const controller = new AbortController();
    const cancelled = topicRequest("cancel-me", { partitions: 2 }, settings, {
      signal: controller.signal,
      onEvent: (event) => {
        if (isTopicStep(event, "started")) controller.abort();
      },
    });
    const error = await engine.apply(cancelled).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ code: "UNKNOWN", retryable: true });
    await waitFor(async () => expect(processesUsing(dataDir)).toEqual([]), {
      what: "no process left",
      timeoutMs: 10_000,
    });

    const result = await engine.apply(topicRequest("cancel-me", { partitions: 2 }, settings, { attempt: 2 }));
    expect(result.outputs.partitions).toBe(2);
    expect(await partitionsOnBroker(admin, "cancel-me")).toBe(2);
  });
});

describe("Pulumi engine: an interrupted create, on either side of the provider call", () => {
  let engine: Engine;
  let dataDir: string;
  const topicType = "kafka:index/topic:Topic";
  beforeAll(() => {
    dataDir = engineDataDir();
    engine = createPulumiEngine({ dataDir, passphrase: "interrupted-test-passphrase" });
  });
  afterAll(async () => {
    await engine?.close();
  });

  const recoveryWarning = (events: EngineEvent[]): EngineEvent | undefined =>
    events.find(
      (event) => event.kind === "diagnostic" && event.message.startsWith("recovered from an interrupted update"),
    );

  it("a create that reached the broker is adopted: no duplicate, no 'already exists'", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("made-it", { partitions: 2 }, settings));
    interruptCreate(dataDir, "test.topic--made-it", topicType);

    const retry = topicRequest("made-it", { partitions: 2 }, settings, { attempt: 2 });
    expect((await engine.apply(retry)).outputs).toEqual({ topicName: "made-it", partitions: 2 });
    expect(recoveryWarning(retry.events)?.details).toMatchObject({
      pendingOperations: 1,
      adopted: [expect.stringContaining("::topic")],
    });
    expect(retry.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { same: 3 } } });
    expect(await partitionsOnBroker(admin, "made-it")).toBe(2);

    const settled = topicRequest("made-it", { partitions: 2 }, settings);
    await engine.apply(settled);
    expect(recoveryWarning(settled.events)).toBeUndefined();
  });

  it("a create that never reached the broker is made afresh", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("never-made", { partitions: 2 }, settings));
    interruptCreate(dataDir, "test.topic--never-made", topicType);
    await admin.deleteTopics({ topics: ["never-made"] });

    const retry = topicRequest("never-made", { partitions: 2 }, settings, { attempt: 2 });
    await engine.apply(retry);
    expect(recoveryWarning(retry.events)).toBeDefined();
    expect(retry.events.at(-1)).toMatchObject({
      kind: "summary",
      details: { resourceChanges: { create: 1, same: 2 } },
    });
    expect(await partitionsOnBroker(admin, "never-made")).toBe(2);
  });

  it("a recovery cut short by an outage is finished by the next attempt, not mistaken for a settled state", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers, timeoutSeconds: 5 };
    await engine.apply(topicRequest("cut-short", { partitions: 2 }, settings));
    interruptCreate(dataDir, "test.topic--cut-short", topicType);
    await admin.deleteTopics({ topics: ["cut-short"] });

    await broker.halt();
    try {
      const error = await engine.apply(topicRequest("cut-short", { partitions: 2 }, settings, { attempt: 2 })).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toMatchObject({ name: "EngineError", code: "TARGET_UNREACHABLE", retryable: true });
    } finally {
      await broker.resume();
    }
    // The adopted entry was never confirmed: the next attempt reads it back, finds nothing, and creates the topic.
    const retry = topicRequest("cut-short", { partitions: 2 }, settings, { attempt: 3 });
    await engine.apply(retry);
    expect(recoveryWarning(retry.events)).toBeDefined();
    expect(retry.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { create: 1 } } });
    expect(await partitionsOnBroker(admin, "cut-short")).toBe(2);
  });

  it("without the plugin's adoptPendingCreate, a create that reached the broker fails for good as ALREADY_EXISTS", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const plain = (extra: Partial<EngineRequest> = {}): EngineRequest =>
      topicRequest("orphaned", { partitions: 1 }, settings, {
        plugin: {
          module: new URL("./fixtures/test-topic-plugin.ts", import.meta.url).href,
          exportName: "nonAdoptingTopicPlugin",
        },
        ...extra,
      });
    await engine.apply(plain());
    interruptCreate(dataDir, "test.topic--orphaned", topicType);

    const error = await engine.apply(plain({ attempt: 2 })).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ name: "EngineError", code: "ALREADY_EXISTS", retryable: false });
  });
});

describe("Pulumi engine: a stack lock whose holder may still be running", () => {
  let engine: Engine;
  let dataDir: string;
  let holder: ChildProcess | undefined;
  beforeAll(() => {
    dataDir = engineDataDir();
    // killGraceMs sets how long a live holder is waited for: 2 × 1 s + 5 s.
    engine = createPulumiEngine({ dataDir, passphrase: "held-lock-passphrase", killGraceMs: 1_000 });
  });
  afterAll(async () => {
    holder?.kill("SIGKILL");
    await engine?.close();
  });

  /** A lock file as the Pulumi CLI writes it, held by a live process of this host. */
  function holdLock(stackName: string): { file: string; holder: ChildProcess } {
    const sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    const dir = join(dataDir, "pulumi/.pulumi/locks/organization/plinth", stackName);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${randomUUID()}.json`);
    const content = { pid: sleeper.pid, username: userInfo().username, hostname: hostname(), timestamp: new Date() };
    writeFileSync(file, JSON.stringify(content));
    return { file, holder: sleeper };
  }

  const waitingEvent = (events: EngineEvent[]): EngineEvent | undefined =>
    events.find((event) => event.kind === "diagnostic" && event.message.startsWith("waiting for the stack's lock"));

  it("is waited for, not cleared; once its holder is gone, the apply goes ahead", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("held", { partitions: 1 }, settings));
    const lock = holdLock("test.topic--held");
    holder = lock.holder;

    const retry = topicRequest("held", { partitions: 2 }, settings, { attempt: 2 });
    let finished = false;
    const applying = engine.apply(retry).finally(() => (finished = true));
    await waitFor(async () => expect(waitingEvent(retry.events)).toBeDefined(), {
      what: "the engine to wait for the live holder",
      timeoutMs: 120_000,
      abortReason: () => (finished ? "the apply finished without waiting for the lock's live holder" : undefined),
    });
    expect(existsSync(lock.file)).toBe(true);

    lock.holder.kill("SIGKILL");
    expect((await applying).outputs.partitions).toBe(2);
    expect(await partitionsOnBroker(admin, "held")).toBe(2);
    expect(existsSync(lock.file)).toBe(false);
  });

  it("that never goes away fails the attempt as a retryable CONCURRENT_UPDATE and keeps the lock", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("kept", { partitions: 1 }, settings));
    const lock = holdLock("test.topic--kept");
    holder = lock.holder;

    const error = await engine.apply(topicRequest("kept", { partitions: 2 }, settings, { attempt: 2 })).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ name: "EngineError", code: "CONCURRENT_UPDATE", retryable: true });
    expect((error as Error).message).toContain(`pid ${lock.holder.pid} on ${hostname()}`);
    expect(existsSync(lock.file)).toBe(true);
    expect(await partitionsOnBroker(admin, "kept")).toBe(1);
  });
});

describe("Pulumi engine: concurrency limit", () => {
  let engine: Engine;
  const children: EngineChildEvent[] = [];
  beforeAll(() => {
    engine = createPulumiEngine({
      dataDir: engineDataDir(),
      passphrase: "concurrency-test-passphrase",
      concurrency: 1,
      onChild: (event) => children.push(event),
    });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("with concurrency 1, three applies run one child at a time", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const names = ["first", "second", "third"];
    const results = await Promise.all(
      names.map((name) => engine.apply(topicRequest(name, { partitions: 1 }, settings))),
    );
    expect(results.map((result) => result.outputs.topicName)).toEqual(names);

    // Replay the lifecycle: never more than one operation at a time, each apply handed out once, and one warm
    // child (the pool's size) doing them all in turn.
    let busy = 0;
    let most = 0;
    for (const event of children) {
      if (event.phase === "assigned") busy++;
      if (event.phase === "released") busy--;
      most = Math.max(most, busy);
    }
    expect(most).toBe(1);
    const assigned = children.filter((event) => event.phase === "assigned");
    expect(assigned.map((event) => event.stackName).sort()).toEqual(names.map((name) => `test.topic--${name}`).sort());
    expect(new Set(assigned.map((event) => event.pid)).size).toBe(1);
  });
});
