import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Admin, ConfigResourceTypes } from "@platformatic/kafka";
import { createPlinthClient, fieldViolations } from "@plinth/sdk";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ImportStatus } from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { InventoryState } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type KafkaBroker, freePort, startKafka, waitFor } from "@plinth/testing";
import { pino } from "pino";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { deleteTopicOutOfBand, kafkaPluginModule, startRealService, topicPartitions } from "../support/real-service.ts";
import { refreshPreviewCounter } from "../support/refresh-preview-counter.ts";
import { scrapeMetric } from "../support/scrape-metric.ts";
import { type TestService, principals, principalsConfig } from "../support/test-service.ts";
import { runPlinthCli } from "../support/run-plinth-cli.ts";
import { WebhookReceiver, eventData } from "../support/webhook-receiver.ts";

describe("drift of real topics, found by the periodic reconcile", { timeout: 900_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  const previews = refreshPreviewCounter();
  // The server's warnings, kept for the tests to read.
  const warnings: Array<{ msg: string; [key: string]: unknown }> = [];
  beforeAll(async () => {
    broker = await startKafka();
    service = await startRealService(broker.bootstrapServers, {
      // Two engine slots, half of them the reconciler's: a round's previews hold one at a time.
      config: {
        reconcile: { intervalMs: 500, engineShare: 0.5 },
        engine: { passphrase: "test-passphrase", concurrency: 2 },
      },
      wrapEngine: previews.wrapEngine,
      logger: pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) }),
    });
  });
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });

  async function createTopic(name: string, config: Record<string, number> = {}, labels: Record<string, string> = {}) {
    const alice = service.as("requester");
    const applied = await alice.resources.applyResource({
      type: "kafka.topic",
      name,
      spec: { cluster: "local", partitions: 3, config, owner: { team: "payments", contact: "#payments" } },
      labels,
      requestId: name,
    });
    expect((await watchToEnd(alice, applied.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
  }

  const drifted = (name: string) =>
    waitFor(
      async () => {
        const { resource } = await service.as("requester").resources.getResource({ type: "kafka.topic", name });
        if (resource?.status !== ResourceStatus.DRIFTED) throw new Error(`still ${resource?.status}`);
        return resource;
      },
      { what: `${name} drifted`, timeoutMs: 300_000 },
    );

  it("compares every topic with one cluster listing: only those that differ get a refreshing preview", async () => {
    const names = ["steady.v1", "deleted.v1", "partitioned.v1", "configured.v1"];
    await Promise.all(names.map((name) => createTopic(name, { "retention.ms": 3_600_000 })));
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.deleteTopics({ topics: ["deleted.v1"] });
      await admin.createPartitions({ topics: [{ name: "partitioned.v1", count: 4 }] });
      const { ConfigResourceTypes } = await import("@platformatic/kafka");
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: "configured.v1",
            configs: [{ name: "retention.ms", value: "7200000", configOperation: 0 }],
          },
        ],
      });
    } finally {
      await admin.close();
    }
    const [deleted, partitioned, configured] = await Promise.all([
      drifted("deleted.v1"),
      drifted("partitioned.v1"),
      drifted("configured.v1"),
    ]);
    // What the bulk comparison saw comes first, then what the confirming preview and verify found.
    expect(deleted.drift?.findings[0]).toBe('observed: topic "deleted.v1" not found on cluster "local"');
    expect(partitioned.drift?.findings[0]).toBe("observed: partitions: 4 on the cluster, 3 recorded");
    expect(configured.drift?.findings[0]).toBe(
      "observed: config.retention.ms: 7200000 on the cluster, 3600000 recorded",
    );
    // Rounds go on; the untouched topic is compared in bulk every time and never previewed.
    const checked = previews.count("kafka.topic", "configured.v1");
    await waitFor(
      async () => {
        if (previews.count("kafka.topic", "configured.v1") <= checked) throw new Error("no later round yet");
      },
      { what: "one more round", timeoutMs: 300_000 },
    );
    const { resource: steady } = await service
      .as("requester")
      .resources.getResource({ type: "kafka.topic", name: "steady.v1" });
    expect(steady?.status).toBe(ResourceStatus.READY);
    expect(previews.count("kafka.topic", "steady.v1")).toBe(0);
  });

  it("reports a round that ran past its interval, on /metrics and in a warning", async () => {
    // A refreshing preview takes seconds: a round with a suspect cannot end within 500 ms.
    await createTopic("slow.v1");
    await deleteTopicOutOfBand(broker.bootstrapServers, "slow.v1");
    await drifted("slow.v1");
    const overruns = await waitFor(
      async () => {
        const count = await scrapeMetric(service.url, "plinth_reconcile_round_overrun_total");
        if (count < 1) throw new Error("no overrun counted");
        return count;
      },
      { what: "an overrun on /metrics", timeoutMs: 120_000 },
    );
    expect(overruns).toBeGreaterThanOrEqual(1);
    const late = warnings.filter((line) => line.msg === "reconcile round took longer than its interval");
    expect(late.length).toBeGreaterThanOrEqual(1);
    expect(late[0]).toMatchObject({ intervalSeconds: 0.5 });
    expect(late[0]!.seconds).toBeGreaterThan(0.5);
  });

  it("never lets a round hold more than its share of the engine, however many suspects it has", async () => {
    const names = ["share.a", "share.b", "share.c", "share.d"];
    await Promise.all(names.map((name) => createTopic(name)));
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.deleteTopics({ topics: names });
    } finally {
      await admin.close();
    }
    await Promise.all(names.map((name) => drifted(name)));
    // A DRIFTED resource is checked in full every round: wait until a later round has previewed all four again.
    const before = names.map((name) => previews.count("kafka.topic", name));
    await waitFor(
      async () => {
        if (names.some((name, i) => previews.count("kafka.topic", name) <= before[i]!))
          throw new Error("not every suspect previewed again");
      },
      { what: "a round over four suspects", timeoutMs: 400_000 },
    );
    // floor(2 slots x 0.5): one preview at a time, though the engine had two slots and four were due.
    expect(previews.mostSlotsHeld()).toBe(1);
  });

  it("repairs a topic labelled plinth/repair=auto by itself, and holds one labelled review for a reviewer", async () => {
    await Promise.all([
      createTopic("mended.v1", {}, { "plinth/repair": "auto" }),
      createTopic("held.v1", {}, { "plinth/repair": "review" }),
    ]);
    await deleteTopicOutOfBand(broker.bootstrapServers, "mended.v1");
    await deleteTopicOutOfBand(broker.bootstrapServers, "held.v1");
    const alice = service.as("requester");
    const repairOf = (name: string, status: ChangeStatus) =>
      waitFor(
        async () => {
          const { changes } = await alice.changes.listChanges({ type: "kafka.topic", name });
          const repair = changes.find((change) => change.requestedBy === "plinth-reconciler");
          if (repair?.status !== status) throw new Error(`repair ${repair ? ChangeStatus[repair.status] : "absent"}`);
          return repair;
        },
        { what: `the repair of ${name} ${ChangeStatus[status]}`, timeoutMs: 400_000 },
      );

    // auto: the reconciler's change puts the topic back, no one approving; it is in the topic's history.
    const mended = await repairOf("mended.v1", ChangeStatus.SUCCEEDED);
    expect(mended.comment).toMatch(/^automatic repair of drift: observed: topic "mended.v1" not found/);
    expect(await topicPartitions(broker.bootstrapServers, "mended.v1")).toBe(3);

    // review: the same change waits for a reviewer, and only then the topic comes back.
    const held = await repairOf("held.v1", ChangeStatus.PENDING_REVIEW);
    expect(held.reviewReasons).toContain("repair of drift held for review (repair: review)");
    expect(await topicPartitions(broker.bootstrapServers, "held.v1")).toBeUndefined();
    const reviewer = service.as("reviewer");
    await waitFor(
      async () => {
        const { change } = await reviewer.changes.getChange({ id: held.id });
        if (!change?.preview) throw new Error("no preview yet");
      },
      { what: "the preview of the held repair", timeoutMs: 300_000 },
    );
    await reviewer.changes.approveChange({ id: held.id, comment: "put it back" });
    expect((await watchToEnd(alice, held.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    expect(await topicPartitions(broker.bootstrapServers, "held.v1")).toBe(3);
  });

  it("never lets an automatic repair undo a change that is open when the topic drifts (issue 22)", async () => {
    const labels = { "plinth/repair": "auto" };
    await createTopic("pending.v1", { "retention.ms": 3_600_000 }, labels);
    const alice = service.as("requester");
    const roundsPass = async (count: number) => {
      const rounds = await scrapeMetric(service.url, "plinth_reconcile_rounds_total");
      await waitFor(
        async () => {
          if ((await scrapeMetric(service.url, "plinth_reconcile_rounds_total")) < rounds + count)
            throw new Error(`fewer than ${count} rounds since`);
        },
        { what: `${count} more reconcile rounds`, timeoutMs: 300_000 },
      );
    };
    // Unclean leader election needs a reviewer: the change stays open while the topic drifts by hand.
    const wanted = { "retention.ms": 7_200_000, "unclean.leader.election.enable": true };
    const open = (
      await alice.resources.applyResource({
        type: "kafka.topic",
        name: "pending.v1",
        spec: { cluster: "local", partitions: 3, config: wanted, owner: { team: "payments", contact: "#payments" } },
        labels,
        requestId: "pending-open",
      })
    ).change!;
    expect(open.status).toBe(ChangeStatus.PENDING_REVIEW);
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    const retention = async () => {
      const [description] = await admin.describeConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: "pending.v1", configurationKeys: ["retention.ms"] },
        ],
      });
      return description?.configs.find((config) => config.name === "retention.ms")?.value;
    };
    try {
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: "pending.v1",
            configs: [{ name: "retention.ms", value: "1800000", configOperation: 0 }],
          },
        ],
      });
      // Two whole rounds while the change is open: the drift is not the reconciler's to repair (nor to report),
      // since the open change owns what comes next; a repair submitted in a race is refused by the submit itself.
      await roundsPass(2);
      const { resource: meanwhile } = await alice.resources.getResource({ type: "kafka.topic", name: "pending.v1" });
      expect(meanwhile?.status).toBe(ResourceStatus.READY);
      await service.as("reviewer").changes.approveChange({ id: open.id, comment: "unclean election is fine here" });
      expect((await watchToEnd(alice, open.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      // Two more whole rounds: none of them repairs back to the revision the open change replaced.
      await roundsPass(2);
      const { changes } = await alice.changes.listChanges({ type: "kafka.topic", name: "pending.v1" });
      expect(changes.filter((change) => change.requestedBy === "plinth-reconciler")).toEqual([]);
      const { resource } = await alice.resources.getResource({ type: "kafka.topic", name: "pending.v1" });
      expect(resource?.status).toBe(ResourceStatus.READY);
      expect(resource?.spec).toMatchObject({ config: wanted });
      expect(await retention()).toBe("7200000");
    } finally {
      await admin.close();
    }
  });

  it("notices a topic deleted by hand; ReconcileResource recreates it", async () => {
    await createTopic("gone.v1");
    await deleteTopicOutOfBand(broker.bootstrapServers, "gone.v1");
    const resource = await drifted("gone.v1");
    expect(resource.drift?.findings.join(" ")).toMatch(/create|does not exist|not found/i);
    const alice = service.as("requester");
    const repair = await alice.resources.reconcileResource({
      type: "kafka.topic",
      name: "gone.v1",
      requestId: "repair-gone",
    });
    expect((await watchToEnd(alice, repair.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const { resource: after } = await alice.resources.getResource({ type: "kafka.topic", name: "gone.v1" });
    expect(after?.status).toBe(ResourceStatus.READY);
  });

  it("notices partitions added by hand; repairing would recreate the topic, so it waits for a reviewer", async () => {
    await createTopic("grown.v1");
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.createPartitions({ topics: [{ name: "grown.v1", count: 5 }] });
    } finally {
      await admin.close();
    }
    const resource = await drifted("grown.v1");
    expect(resource.drift?.findings.length).toBeGreaterThan(0);
    const alice = service.as("requester");
    const repair = await alice.resources.reconcileResource({
      type: "kafka.topic",
      name: "grown.v1",
      requestId: "repair-grown",
    });
    const held = await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: repair.change!.id });
        if (change?.status !== ChangeStatus.PENDING_REVIEW || !change.preview)
          throw new Error(`still ${change?.status}`);
        return change;
      },
      { what: "the repair held for review", timeoutMs: 120_000 },
    );
    expect(held.preview?.destructive).toBe(true);
  });
});

/** A reviewer of payments, the team the import tests hand topics to. */
const paymentsReviewer = { id: "paula", team: "payments", roles: ["reviewer"] as const, token: "token-paula" };
/** A reviewer of a team that receives nothing and is no platform team. */
const searchReviewer = { id: "sam", team: "search", roles: ["reviewer"] as const, token: "token-sam" };
/** A requester of ledger, the team whose quota the import tests fill. */
const ledgerRequester = { id: "lena", team: "ledger", roles: ["requester"] as const, token: "token-lena" };

describe("the cluster view (ListInventory) and bulk import on a real broker", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  /** Receives payments' succeeded changes, imports included. */
  let hooks: WebhookReceiver;
  beforeAll(async () => {
    hooks = await new WebhookReceiver(await freePort()).start();
    broker = await startKafka();
    service = await startRealService(broker.bootstrapServers, {
      config: {
        reconcile: { intervalMs: 500 },
        // Imports here are recorded two resources per transaction, so a three-topic import takes two batches.
        limits: { importBatchSize: 2 },
        notifications: {
          allowedTargets: ["127.0.0.1"],
          delivery: { pollMs: 100 },
          subscriptions: [
            { id: "payments-done", url: hooks.url("/payments"), teams: ["payments"], kinds: ["succeeded"] },
          ],
        },
        principals: principalsConfig({ ...principals, paymentsReviewer, searchReviewer, ledgerRequester }),
        plugins: [
          {
            module: kafkaPluginModule,
            export: "kafkaTopic",
            settings: {
              clusters: {
                local: {
                  bootstrapServers: [broker.bootstrapServers],
                  brokers: 1,
                  quotas: { teams: { ledger: { topics: 2 } } },
                },
              },
            },
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
    await hooks?.stop();
  });

  it("marks each topic managed, unmanaged or drifted", async () => {
    const alice = service.as("requester");
    for (const name of ["kept.v1", "touched.v1"]) {
      // UNAVAILABLE while the fresh broker is slow to answer the unmanaged-twin check: the same request again.
      const applied = await waitFor(
        () =>
          alice.resources.applyResource({
            type: "kafka.topic",
            name,
            spec: { cluster: "local", partitions: 2, owner: { team: "payments", contact: "#payments" } },
            requestId: name,
          }),
        { what: `the change of ${name}`, timeoutMs: 120_000 },
      );
      expect((await watchToEnd(alice, applied.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    }
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.createTopics({ topics: ["by.hand"], partitions: 1, replicas: 1 });
      await admin.createPartitions({ topics: [{ name: "touched.v1", count: 3 }] });
    } finally {
      await admin.close();
    }
    const states = await waitFor(
      async () => {
        const { items } = await alice.plugins.listInventory({ type: "kafka.topic", scope: "local" });
        const byName = Object.fromEntries(items.map((item) => [item.name, item.state]));
        if (byName["touched.v1"] !== InventoryState.DRIFTED) throw new Error("drift not seen yet");
        return { byName, items };
      },
      { what: "the drifted topic in the inventory", timeoutMs: 120_000 },
    );
    expect(states.byName).toEqual({
      "kept.v1": InventoryState.MANAGED,
      "touched.v1": InventoryState.DRIFTED,
      "by.hand": InventoryState.UNMANAGED,
    });
    expect(states.items.find((item) => item.name === "by.hand")?.observed).toEqual({
      partitions: 1,
      replicationFactor: 1,
    });
    const unknown = await alice.plugins.listInventory({ type: "kafka.topic", scope: "nope" }).catch((e: unknown) => e);
    expect((unknown as { code: number }).code).toBe(3); // INVALID_ARGUMENT
  });
  /** Topics made by hand (outside Plinth), each with its partitions and the configs set on it. */
  async function makeByHand(topics: Array<{ name: string; partitions: number; config?: Record<string, string> }>) {
    const admin = new Admin({ clientId: "hand", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      for (const topic of topics) {
        await admin.createTopics({
          topics: [topic.name],
          partitions: topic.partitions,
          replicas: 1,
          configs: Object.entries(topic.config ?? {}).map(([name, value]) => ({ name, value })),
        });
      }
    } finally {
      await admin.close();
    }
  }

  /** Each topic's id and the configs set on it, as the broker reports them: what an import must not change. */
  async function brokerView(names: string[]) {
    const admin = new Admin({ clientId: "check", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true });
      const configs = await admin.describeConfigs({
        resources: names.map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name })),
      });
      return names.map((name) => ({
        name,
        id: metadata.topics.get(name)?.id,
        partitions: metadata.topics.get(name)?.partitionsCount,
        config: configs
          .find((c) => c.resourceName === name)
          ?.configs.filter((c) => c.configSource === 1)
          .map((c) => `${c.name}=${c.value}`)
          .sort(),
      }));
    } finally {
      await admin.close();
    }
  }

  const rulesFile = (name: string, rules: unknown) => {
    const file = join(service.dataDir, name);
    writeFileSync(file, JSON.stringify(rules));
    return file;
  };

  it("plinth import brings unmanaged topics in as one import a receiving team's reviewer approves; the broker is untouched", async () => {
    const alice = service.as("requester");
    // UNAVAILABLE while the fresh broker is slow to answer the unmanaged-twin check: the same request again.
    const managed = await waitFor(
      () =>
        alice.resources.applyResource({
          type: "kafka.topic",
          name: "estate.pay.managed",
          spec: { cluster: "local", partitions: 1, owner: { team: "payments", contact: "#payments" } },
          requestId: "estate.pay.managed",
        }),
      { what: "the managed topic's change", timeoutMs: 120_000 },
    );
    expect((await watchToEnd(alice, managed.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    await makeByHand([
      { name: "estate.pay.orders", partitions: 3, config: { "retention.ms": "86400000" } },
      { name: "estate.pay.refunds", partitions: 1 },
      { name: "estate.pay.retired", partitions: 1 },
      { name: "estate.pay.odd", partitions: 1, config: { "segment.index.bytes": "4096" } },
      { name: "estate.search.index", partitions: 2, config: { "cleanup.policy": "compact" } },
      { name: "__estate.internal", partitions: 1 },
    ]);
    const imported = ["estate.pay.orders", "estate.pay.refunds", "estate.pay.retired"];
    const before = await brokerView([...imported, "estate.search.index"]);
    const url = service.url;
    const token = principals.requester.token;

    // Another team's topics: refused, naming the rule, before anything is observed or recorded.
    const both = rulesFile("both.yaml", {
      rules: [
        { prefix: "estate.pay.", team: "payments", contact: "#payments" },
        { prefix: "estate.search.", team: "search", contact: "#search" },
      ],
    });
    const foreign = await runPlinthCli(url, token, "import", "kafka.topic", "local", "--rules", both);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toMatch(/permission_denied|PermissionDenied|permission/i);
    expect(foreign.stderr).toContain("rules.1");

    const pay = rulesFile("pay.yaml", [{ prefix: "estate.pay.", team: "payments", contact: "#payments" }]);
    const dry = await runPlinthCli(url, token, "import", "kafka.topic", "local", "--rules", pay, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/PLANNED/);
    await expect(alice.resources.getResource({ type: "kafka.topic", name: "estate.pay.orders" })).rejects.toThrow();

    const run = (...args: string[]) =>
      runPlinthCli(
        url,
        token,
        "--json",
        "import",
        "kafka.topic",
        "local",
        "--rules",
        pay,
        "--request-id",
        "estate-1",
        ...args,
      );
    const first = await run("-m", "moving in");
    expect(first.code, first.stderr).toBe(0);
    const plan = JSON.parse(first.stdout) as {
      id: string;
      status: string;
      resources: Array<{ name: string; team: string; spec: Record<string, unknown> }>;
      skipped: Array<{ name: string; reason: string }>;
    };
    expect(plan.status).toBe("IMPORT_STATUS_PENDING_REVIEW");
    expect(plan.resources.map((r) => [r.name, r.team])).toEqual(imported.map((name) => [name, "payments"]));
    const skipped = Object.fromEntries(plan.skipped.map((s) => [s.name, s.reason]));
    expect(skipped["estate.pay.managed"]).toMatch(/already managed/);
    expect(skipped["estate.pay.odd"]).toMatch(/segment\.index\.bytes/);
    expect(skipped["estate.search.index"]).toMatch(/no owner rule/);
    expect(JSON.stringify(plan)).not.toContain("__estate.internal");
    // The same request id again: the same import, not a second one.
    expect((JSON.parse((await run()).stdout) as { id: string }).id).toBe(plan.id);

    // Who may approve: not the requester, not a reviewer of a team that receives nothing (and is no platform team).
    const own = await runPlinthCli(url, token, "imports", "approve", plan.id);
    expect(own.code).not.toBe(0);
    const otherTeam = await runPlinthCli(url, searchReviewer.token, "imports", "approve", plan.id);
    expect(otherTeam.code).not.toBe(0);
    expect(otherTeam.stderr).toMatch(/payments/);
    await expect(alice.resources.getResource({ type: "kafka.topic", name: "estate.pay.orders" })).rejects.toThrow();

    const approved = await runPlinthCli(url, paymentsReviewer.token, "imports", "approve", plan.id, "-m", "ours");
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/IMPORTED/);
    expect(approved.stdout).toMatch(/approved by paula/);

    const { resource: orders } = await alice.resources.getResource({ type: "kafka.topic", name: "estate.pay.orders" });
    expect(orders?.status).toBe(ResourceStatus.READY);
    expect(orders?.ownerTeam).toBe("payments");
    expect(orders?.resolvedSpec).toMatchObject({
      partitions: 3,
      replicationFactor: 1,
      config: { "retention.ms": 86_400_000 },
      adopt: true,
    });
    // The import is in the resource's history: who asked, who approved, and that nothing changed.
    const { revisions } = await alice.resources.listRevisions({ type: "kafka.topic", name: "estate.pay.orders" });
    expect(revisions.map((r) => [r.revision, r.requestedBy, r.approvedBy])).toEqual([[1n, "alice", ["paula"]]]);
    const { change } = await alice.changes.getChange({ id: revisions[0]!.changeId });
    expect(change?.comment).toBe("moving in");
    expect(change?.reviewReasons.join(" ")).toContain(`import ${plan.id}`);
    const { resource: untouched } = await alice.resources.getResource({
      type: "kafka.topic",
      name: "estate.pay.managed",
    });
    expect(untouched?.revision).toBe(1n);
    await expect(alice.resources.getResource({ type: "kafka.topic", name: "estate.search.index" })).rejects.toThrow();
    expect(await brokerView([...imported, "estate.search.index"])).toEqual(before);

    // Each imported resource is announced to its team's subscribers as its own succeeded change.
    const announced = await waitFor(
      async () => {
        const got = hooks.at("/payments").filter((hook) => JSON.stringify(eventData(hook)).includes(plan.id));
        if (got.length < imported.length) throw new Error(`${got.length} of ${imported.length} announced`);
        return got;
      },
      { what: "the imported topics announced", timeoutMs: 60_000 },
    );
    const byName = new Map(announced.map((hook) => [hook.json.subject as string, eventData(hook)]));
    expect([...byName.keys()].sort()).toEqual(imported.map((name) => `kafka.topic/${name}`));
    const ordersEvent = byName.get("kafka.topic/estate.pay.orders") as ReturnType<typeof eventData> & {
      import?: unknown;
    };
    expect(ordersEvent.kind).toBe("SUCCEEDED");
    expect(ordersEvent.change?.id).toBe(revisions[0]!.changeId);
    expect(ordersEvent.message).toMatch(/nothing changed/);
    expect(ordersEvent.import).toMatchObject({
      id: plan.id,
      scope: "local",
      requestedBy: "alice",
      approvedBy: ["paula"],
    });
    expect(announced).toHaveLength(imported.length);
  });

  it("refuses bad owner rules with INVALID_ARGUMENT naming every field", async () => {
    const client = createPlinthClient({ baseUrl: service.url, token: principals.requester.token, retry: false });
    const error = await client.imports
      .importResources({
        type: "kafka.topic",
        scope: "nowhere",
        rules: [
          { prefix: "", team: "", contact: "" },
          { prefix: "a.", team: "payments", contact: "#payments" },
          { prefix: "a.", team: "payments", contact: "#payments" },
        ],
      })
      .catch((e: unknown) => e);
    expect((error as { code: number }).code).toBe(3); // INVALID_ARGUMENT
    expect(
      fieldViolations(error)
        .map((v) => v.field)
        .sort(),
    ).toEqual(["scope", "rules.0.prefix", "rules.0.team", "rules.0.contact", "rules.2.prefix"].sort());
  });

  it("an import keeps the receiving team's quota at submit and at approval, and a platform team's reviewer approves it", async () => {
    const as = (token: string) => createPlinthClient({ baseUrl: service.url, token, retry: false });
    const lena = as(ledgerRequester.token);
    const rita = as(principals.reviewer.token); // platform, one of review.platformTeams
    const rules = [{ prefix: "ledger.", team: "ledger", contact: "#ledger" }];
    await makeByHand([
      { name: "ledger.a", partitions: 1 },
      { name: "ledger.b", partitions: 1 },
    ]);
    // Two topics against a quota of two: planned.
    const planned = await waitFor(
      () => lena.imports.importResources({ type: "kafka.topic", scope: "local", rules, requestId: "ledger-1" }),
      { what: "the ledger import planned", timeoutMs: 120_000 },
    );
    expect(planned.import?.resources.map((r) => r.name)).toEqual(["ledger.a", "ledger.b"]);
    const id = planned.import!.id;

    // Meanwhile the team makes a topic of its own: its third.
    const own = await lena.resources.applyResource({
      type: "kafka.topic",
      name: "ledger.own",
      spec: { cluster: "local", partitions: 1, owner: { team: "ledger", contact: "#ledger" } },
      requestId: "ledger-own",
    });
    expect((await watchToEnd(lena, own.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    // Approving now would take ledger to 3 topics of 2: refused, and nothing of the import is recorded.
    const refused = await rita.imports.approveImport({ id, comment: "looks fine" }).catch((e: unknown) => e);
    expect((refused as { code: number }).code, String(refused)).toBe(8); // RESOURCE_EXHAUSTED
    expect(String(refused)).toMatch(/team ledger.*topics would use 3 of 2/);
    const still = (await lena.imports.getImport({ id })).import!;
    expect(still.status).toBe(ImportStatus.PENDING_REVIEW);
    expect(still.reviews).toEqual([]);
    await expect(lena.resources.getResource({ type: "kafka.topic", name: "ledger.a" })).rejects.toThrow();
    // So is a new import of the same topics, at submit, dry run or not.
    for (const dryRun of [true, false]) {
      const again = await lena.imports
        .importResources({ type: "kafka.topic", scope: "local", rules, requestId: "ledger-2", dryRun })
        .catch((e: unknown) => e);
      expect((again as { code: number }).code, String(again)).toBe(8);
    }

    // Once the team's own topic is gone, the same approval fits, and a platform reviewer's completes it.
    const remove = await lena.resources.deleteResource({ type: "kafka.topic", name: "ledger.own", requestId: "rm" });
    await rita.changes.approveChange({ id: remove.change!.id, comment: "make room" });
    expect((await watchToEnd(lena, remove.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const approved = (await rita.imports.approveImport({ id, comment: "room made" })).import!;
    expect(approved.status).toBe(ImportStatus.IMPORTED);
    const { resource } = await lena.resources.getResource({ type: "kafka.topic", name: "ledger.a" });
    expect([resource?.ownerTeam, resource?.status]).toEqual(["ledger", ResourceStatus.READY]);
    const { usage } = await lena.resources.getTeamUsage({ team: "ledger" });
    expect(usage.find((row) => row.metric === "topics")).toMatchObject({ used: 2, limit: 2 });
  });

  it("an imported topic: re-applying its spec changes nothing, its first change imports and applies only that change, and drift is noticed", async () => {
    const alice = service.as("requester");
    const get = async (name: string) => (await alice.resources.getResource({ type: "kafka.topic", name })).resource!;
    const refunds = await get("estate.pay.refunds");
    const again = await alice.resources.applyResource({
      type: "kafka.topic",
      name: "estate.pay.refunds",
      spec: refunds.spec,
      requestId: "refunds-again",
    });
    expect(again.noOp).toBe(true);

    const orders = await get("estate.pay.orders");
    const [before] = await brokerView(["estate.pay.orders"]);
    const grow = await alice.resources.applyResource({
      type: "kafka.topic",
      name: "estate.pay.orders",
      spec: { ...orders.spec, partitions: 4 },
      requestId: "orders-grow",
    });
    const done = await watchToEnd(alice, grow.change!.id);
    expect(done.change.status, done.messages.join("\n")).toBe(ChangeStatus.SUCCEEDED);
    // Previewed first (an auto-approved update): the topic taken over into its stack and updated, nothing made or replaced.
    expect(done.change.preview?.steps).toEqual({ import: 1, update: 1 });
    expect(done.change.preview?.destructive).toBe(false);
    const [after] = await brokerView(["estate.pay.orders"]);
    expect(after).toEqual({ ...before, partitions: 4 });
    const { revisions } = await alice.resources.listRevisions({ type: "kafka.topic", name: "estate.pay.orders" });
    expect(revisions.map((r) => r.revision).sort()).toEqual([1n, 2n]);
    // From now on the topic has its stack: the same spec again is a no-op.
    const same = await alice.resources.applyResource({
      type: "kafka.topic",
      name: "estate.pay.orders",
      spec: { ...orders.spec, partitions: 4 },
      requestId: "orders-same",
    });
    expect(same.noOp).toBe(true);

    await deleteTopicOutOfBand(broker.bootstrapServers, "estate.pay.refunds");
    const drifted = await waitFor(
      async () => {
        const resource = await get("estate.pay.refunds");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${resource.status}`);
        return resource;
      },
      { what: "the imported topic deleted by hand seen as drift", timeoutMs: 120_000 },
    );
    expect(drifted.drift?.findings.join(" ")).toMatch(/not found/);

    // A first change that deletes: the topic is taken over into a stack first, so there is something to destroy.
    const retire = await alice.resources.deleteResource({
      type: "kafka.topic",
      name: "estate.pay.retired",
      requestId: "retire",
    });
    await service.as("reviewer").changes.approveChange({ id: retire.change!.id, comment: "retire it" });
    const retired = await watchToEnd(alice, retire.change!.id);
    expect(retired.change.status, retired.messages.join("\n")).toBe(ChangeStatus.SUCCEEDED);
    expect(await topicPartitions(broker.bootstrapServers, "estate.pay.retired")).toBeUndefined();
  });
  it("a folder: plan, apply and a no-op second apply; prune only what carries its label in the caller's team; export takes back unchanged", async () => {
    const url = service.url;
    const alice = principals.requester.token;
    const cli = (...args: string[]) => runPlinthCli(url, alice, ...args);
    const topic = (name: string, partitions = 1, owner = "payments") => ({
      type: "kafka.topic",
      name,
      spec: { cluster: "local", partitions, owner: { team: owner, contact: `#${owner}` } },
    });
    const folder = (name: string, manifests: Record<string, unknown>) => {
      const dir = join(service.dataDir, name);
      for (const [file, manifest] of Object.entries(manifests)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), typeof manifest === "string" ? manifest : stringify(manifest));
      }
      return dir;
    };
    const gone = async (name: string) =>
      (
        await service
          .as("requester")
          .resources.getResource({ type: "kafka.topic", name })
          .catch(() => undefined)
      )?.resource;

    // Bad files: every problem of every file at once, before any call; then specs the server refuses, all at once.
    const badShape = folder("bad-shape", {
      "a.yaml": { type: "kafka.topic", spec: {} },
      "b.yaml": { ...topic("gitops.pay.b"), labels: { "plinth/source": "mine" } },
    });
    const shape = await cli("apply", "-f", badShape);
    expect(shape.code, shape.stderr).toBe(4);
    expect(shape.stderr).toContain("a.yaml:name");
    expect(shape.stderr).toContain("b.yaml:labels.plinth/source");
    const badSpec = folder("bad-spec", {
      "good.yaml": topic("gitops.pay.good"),
      "zero.yaml": topic("gitops.pay.zero", 0),
      "nowhere.yaml": { ...topic("gitops.pay.nowhere"), spec: { ...topic("x").spec, cluster: "nowhere" } },
    });
    const spec = await cli("apply", "-f", badSpec);
    expect(spec.code, spec.stderr).toBe(4);
    expect(spec.stderr).toContain("zero.yaml:spec.partitions");
    expect(spec.stderr).toContain("nowhere.yaml:spec.cluster");
    expect(await gone("gitops.pay.good")).toBeUndefined();
    const badPlan = await cli("plan", "-f", badSpec);
    expect(badPlan.code, badPlan.stderr).toBe(1);

    const gitops = folder("gitops", {
      "kafka.topic/gitops.pay.a.yaml": { ...topic("gitops.pay.a"), labels: { tier: "gold" } },
      "kafka.topic/gitops.pay.b.yaml": topic("gitops.pay.b"),
      "kafka.topic/gitops.pay.c.yaml": topic("gitops.pay.c"),
      "kafka.topic/gitops.pay.d.yaml": topic("gitops.pay.d"),
    });
    const first = await cli("plan", "-f", gitops, "--output", "json");
    expect(first.code, first.stderr).toBe(2);
    const firstPlan = JSON.parse(first.stdout) as {
      planId: string;
      source: string;
      resources: Array<{ name: string; action: string }>;
    };
    expect(firstPlan.source).toBe("gitops");
    expect(firstPlan.planId).not.toBe("");
    expect(firstPlan.resources.map((r) => [r.name, r.action])).toEqual(
      ["a", "b", "c", "d"].map((n) => [`gitops.pay.${n}`, "create"]),
    );
    // The merge applies exactly the plan CI showed: one change set, every member its own change.
    const applied = await cli("--json", "apply", "-f", gitops, "--plan", firstPlan.planId, "--wait");
    expect(applied.code, applied.stderr).toBe(0);
    const appliedSet = JSON.parse(applied.stdout) as {
      changeSet: string;
      resources: Array<{ name: string; change: { status: string; changeSetId: string } }>;
    };
    expect(appliedSet.resources.map((r) => [r.name, r.change.status, r.change.changeSetId])).toEqual(
      ["a", "b", "c", "d"].map((n) => [`gitops.pay.${n}`, "CHANGE_STATUS_SUCCEEDED", appliedSet.changeSet]),
    );
    // The same plan again is refused: what it was made against has moved, and it names what moved.
    const replan = await cli("apply", "-f", gitops, "--plan", firstPlan.planId);
    expect(replan.code, replan.stderr).toBe(6);
    expect(replan.stderr).toContain('kafka.topic "gitops.pay.a"');
    const a = (await service.as("requester").resources.getResource({ type: "kafka.topic", name: "gitops.pay.a" }))
      .resource!;
    expect([a.status, a.labels]).toEqual([ResourceStatus.READY, { tier: "gold", "plinth/source": "gitops" }]);
    expect(await topicPartitions(broker.bootstrapServers, "gitops.pay.d")).toBe(1);

    // A second plan shows nothing to do (exit 0); a second apply submits nothing: every answer is the server's no-op.
    const second = await cli("plan", "-f", gitops);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain("0 to create, 0 to update, 0 to delete, 4 unchanged");
    const again = await cli("--json", "apply", "-f", gitops);
    expect(again.code, again.stderr).toBe(0);
    const againResult = JSON.parse(again.stdout) as { resources: Array<{ noOp: boolean; change?: unknown }> };
    expect(againResult.resources.map((r) => [r.noOp, r.change])).toEqual(Array(4).fill([true, undefined]));

    // Prune's bypasses: another team's topic labelled with this source, and the caller's team's unlabelled one.
    const olga = service.as("outsider");
    const foreign = await olga.resources.applyResource({
      ...topic("gitops.search.x", 1, "search"),
      labels: { "plinth/source": "gitops" },
      requestId: "gitops-foreign",
    });
    expect((await watchToEnd(olga, foreign.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const unlabelled = await service.as("requester").resources.applyResource({
      ...topic("loose.pay.unlabelled"),
      requestId: "gitops-unlabelled",
    });
    expect((await watchToEnd(service.as("requester"), unlabelled.change!.id)).change.status).toBe(
      ChangeStatus.SUCCEEDED,
    );
    // Export: the team's own folder, type, name, labels and spec only (no outputs), and --all or another team refused to a requester.
    const out = join(service.dataDir, "exported");
    expect((await cli("export", "--all", "-o", out)).code).toBe(5);
    expect((await cli("export", "--team", "search", "-o", out)).code).toBe(5);
    const exported = await cli("export", "-o", out);
    expect(exported.code, exported.stderr).toBe(0);
    const exportedA = parse(readFileSync(join(out, "kafka.topic", "gitops.pay.a.yaml"), "utf8")) as unknown;
    expect(exportedA).toEqual({ type: "kafka.topic", name: "gitops.pay.a", labels: { tier: "gold" }, spec: a.spec });
    expect(existsSync(join(out, "kafka.topic", "loose.pay.unlabelled.yaml"))).toBe(true);
    expect(existsSync(join(out, "kafka.topic", "gitops.search.x.yaml"))).toBe(false);
    // Taken back unchanged: no spec differs; what the folder already holds is a no-op, the rest only gains the label.
    const roundTrip = await cli("plan", "-f", out, "--source", "gitops", "--output", "json");
    expect(roundTrip.code, roundTrip.stderr).not.toBe(1);
    const roundPlan = JSON.parse(roundTrip.stdout) as {
      resources: Array<{ name: string; action: string; differences: unknown[]; labelDifferences: unknown[] }>;
    };
    expect(roundPlan.resources.length).toBeGreaterThan(4);
    for (const entry of roundPlan.resources) {
      expect(entry.differences, entry.name).toEqual([]);
      if (entry.name.startsWith("gitops.pay.")) expect(entry.action, entry.name).toBe("no-op");
      else expect(entry.labelDifferences).toEqual([{ path: "labels.plinth/source", op: "added", after: "gitops" }]);
    }

    // The folder loses b and c: 2 of 4 labelled, over the default share of 0.25.
    rmSync(join(gitops, "kafka.topic", "gitops.pay.b.yaml"));
    rmSync(join(gitops, "kafka.topic", "gitops.pay.c.yaml"));
    const mass = await cli("apply", "-f", gitops, "--prune");
    expect(mass.code, mass.stderr).toBe(6);
    expect(mass.stderr).toContain("--allow-mass-delete");
    expect((await cli("plan", "-f", gitops, "--prune")).code).toBe(1);
    const pruning = await cli("plan", "-f", gitops, "--prune", "--allow-mass-delete", "--output", "json");
    expect(pruning.code, pruning.stderr).toBe(2);
    const prunePlan = JSON.parse(pruning.stdout) as {
      labelled: number;
      resources: Array<{ name: string; action: string; riskFlags: string[] }>;
    };
    expect(prunePlan.labelled).toBe(4);
    expect(prunePlan.resources.filter((r) => r.action !== "no-op")).toEqual([
      expect.objectContaining({ name: "gitops.pay.b", action: "delete", riskFlags: ["deletion"] }),
      expect.objectContaining({ name: "gitops.pay.c", action: "delete", riskFlags: ["deletion"] }),
    ]);
    // 2 of 4 is within a share of 0.5.
    expect((await cli("plan", "-f", gitops, "--prune", "--max-prune-share", "0.5")).code).toBe(2);
    const pruned = await cli("--json", "apply", "-f", gitops, "--prune", "--allow-mass-delete");
    expect(pruned.code, pruned.stderr).toBe(0);
    const prunedResult = JSON.parse(pruned.stdout) as {
      resources: Array<{
        name: string;
        action: string;
        change?: { status: string; kind: string; changeSetId: string };
      }>;
    };
    // Deletions keep their normal review: submitted as one change set, each waiting for a reviewer.
    expect(new Set(prunedResult.resources.flatMap((r) => (r.change ? [r.change.changeSetId] : []))).size).toBe(1);
    expect(prunedResult.resources.filter((r) => r.action === "delete")).toEqual([
      expect.objectContaining({
        name: "gitops.pay.b",
        change: expect.objectContaining({ kind: "CHANGE_KIND_DELETE", status: "CHANGE_STATUS_PENDING_REVIEW" }),
      }),
      expect.objectContaining({
        name: "gitops.pay.c",
        change: expect.objectContaining({ kind: "CHANGE_KIND_DELETE", status: "CHANGE_STATUS_PENDING_REVIEW" }),
      }),
    ]);
    for (const name of ["gitops.search.x", "loose.pay.unlabelled"]) {
      const { changes } = await service.as("reviewer").changes.listChanges({ type: "kafka.topic", name });
      expect(
        changes.map((c) => c.kind),
        name,
      ).not.toContain(ChangeKind.DELETE);
    }
    // And had a folder named it, the server refuses the caller another team's deletion.
    expect((await cli("delete", "kafka.topic", "gitops.search.x")).code).toBe(5);
  });
});
