import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { ChangeStatus, Code, ConnectError, ResourceStatus, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { refreshPreviewCounter } from "../../core/test/support/refresh-preview-counter.ts";
import { type TestService, principals } from "../../core/test/support/test-service.ts";
import type { UserSpecInput } from "../src/index.ts";
import { describeScramUsers } from "../src/scram-users.ts";
import { KafkaSettings } from "../src/cluster-settings.ts";
import { guideBlocks, runStep, shellEnv, writeDocSnippets } from "./support/guide-steps.ts";
import {
  consumeAs,
  createCredentialOutOfBand,
  deleteCredentialOutOfBand,
  produceAs,
  refusal,
} from "./support/scram-clients.ts";

// Everything real: Plinth's server and worker, the Pulumi engine with the Kafka provider and the
// password's dynamic provider, and a broker that authenticates with SCRAM and enforces ACLs.
describe("kafka.user through Plinth, Pulumi and a SCRAM broker", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  let settings: KafkaSettings;
  beforeAll(async () => {
    broker = await startKafka({ scram: true });
    // The topics are made outside Plinth (below), so grants on their prefix have no owning team.
    settings = KafkaSettings.parse({
      clusters: {
        local: {
          bootstrapServers: [broker.bootstrapServers],
          brokers: 1,
          sasl: broker.sasl,
          guardrails: { allowUnownedPrefixGrants: true },
        },
      },
    });
    const admin = new Admin({ clientId: "user-test", bootstrapBrokers: [broker.bootstrapServers], sasl: broker.sasl });
    try {
      await admin.createTopics({ topics: ["orders.placed", "audit.log"], partitions: 1, replicas: 1 });
    } finally {
      await admin.close();
    }
    const plugin = (exportName: string) => ({ module: kafkaPluginModule, export: exportName, settings });
    service = await startRealService(broker.bootstrapServers, {
      config: { plugins: [plugin("kafkaTopic"), plugin("kafkaUser")] },
    });
  });
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });

  const as = (who: keyof typeof principals) =>
    createPlinthClient({ baseUrl: service.url, token: principals[who].token });
  const user = (spec: Partial<UserSpecInput> = {}): UserSpecInput => ({
    cluster: "local",
    owner: { team: "payments", contact: "#payments" },
    access: [{ topics: { prefix: "orders." }, operations: "read-write" }],
    ...spec,
  });
  const scramUsers = async () => [...(await describeScramUsers(settings.clusters.local!)).keys()];

  it("creates users whose passwords work on the broker, repairs drift, rotates, refuses going back, deletes", async () => {
    const alice = as("requester");
    const reviewer = as("reviewer");

    // Write access needs a reviewer; then the user exists on the broker.
    const created = await alice.apply("kafka.user", "orders-app", user());
    expect(created.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(created.change?.reviewReasons.join(" ")).toContain('write on topics prefixed "orders."');
    // The reviewer reads the engine's preview first: four resources to create.
    const preview = await waitFor(
      async () => {
        const { change } = await reviewer.changes.getChange({ id: created.change!.id });
        if (!change?.preview) throw new Error("no preview yet");
        return change.preview;
      },
      { what: "the preview of the new user", timeoutMs: 120_000 },
    );
    expect(preview.steps).toMatchObject({ create: 4 });
    await reviewer.changes.approveChange({ id: created.change!.id, comment: "orders service" });
    expect((await alice.waitForChange(created.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const resource = await alice.get("kafka.user", "orders-app");
    expect(resource.outputs).toMatchObject({ username: "orders-app", mechanism: "SCRAM-SHA-512", rotation: 0 });
    expect(JSON.stringify(resource.outputs)).not.toContain("password");
    expect(resource.secretOutputKeys).toEqual(["password"]);
    expect(await scramUsers()).toContain("orders-app");

    // The password only comes out of RevealSecret, for the owning team.
    const reveal = async () =>
      (await alice.resources.revealSecret({ type: "kafka.user", name: "orders-app", key: "password" })).value?.kind
        .value as string;
    const first = await reveal();
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const outsider = await as("outsider")
      .resources.revealSecret({ type: "kafka.user", name: "orders-app", key: "password" })
      .catch((error: unknown) => ConnectError.from(error));
    expect(outsider).toMatchObject({ code: Code.PermissionDenied });

    const login = { username: "orders-app", password: first };
    await produceAs(broker.bootstrapServers, login, "orders.placed", "order-1");
    expect(await consumeAs(broker.bootstrapServers, login, "orders.placed", "orders-app.billing", "order-1")).toBe(
      "order-1",
    );
    // Outside its prefix the broker refuses it.
    expect(await refusal(produceAs(broker.bootstrapServers, login, "audit.log", "x"))).toContain(
      "TOPIC_AUTHORIZATION_FAILED",
    );

    // Read-only on a prefix is approved automatically; it reads but the broker refuses its writes.
    const reader = await alice.apply(
      "kafka.user",
      "orders-reader",
      user({ access: [{ topics: { prefix: "orders." }, operations: "read" }] }),
    );
    expect(reader.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await alice.waitForChange(reader.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const readerLogin = {
      username: "orders-reader",
      password: (await alice.resources.revealSecret({ type: "kafka.user", name: "orders-reader", key: "password" }))
        .value?.kind.value as string,
    };
    expect(
      await consumeAs(broker.bootstrapServers, readerLogin, "orders.placed", "orders-reader.audit", "order-1"),
    ).toBe("order-1");
    expect(await refusal(produceAs(broker.bootstrapServers, readerLogin, "orders.placed", "forged"))).toContain(
      "TOPIC_AUTHORIZATION_FAILED",
    );

    // Drift: the credential is deleted by hand; a reconcile recreates it (with a new password).
    await deleteCredentialOutOfBand(broker.bootstrapServers, broker.sasl!, "orders-reader");
    expect(await scramUsers()).not.toContain("orders-reader");
    const repair = await alice.resources.reconcileResource({
      type: "kafka.user",
      name: "orders-reader",
      requestId: "repair-reader",
    });
    expect((await alice.waitForChange(repair.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(await scramUsers()).toContain("orders-reader");
    const repaired = (
      await alice.resources.revealSecret({ type: "kafka.user", name: "orders-reader", key: "password" })
    ).value?.kind.value as string;
    expect(repaired).not.toBe(readerLogin.password);
    await expect(
      consumeAs(
        broker.bootstrapServers,
        { username: "orders-reader", password: repaired },
        "orders.placed",
        "orders-reader.audit",
        "order-1",
      ),
    ).resolves.toBe("order-1");

    // Re-applying the same spec changes nothing, so the password stays.
    expect((await alice.apply("kafka.user", "orders-app", user())).noOp).toBe(true);
    expect(await reveal()).toBe(first);

    // Rotation: a new password, auto-approved; the old one is refused, the new one works.
    const rotated = await alice.apply("kafka.user", "orders-app", user({ rotation: 1 }));
    expect(rotated.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await alice.waitForChange(rotated.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const second = await reveal();
    expect(second).not.toBe(first);
    expect(await refusal(produceAs(broker.bootstrapServers, login, "orders.placed", "stale"))).toMatch(
      /SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/,
    );
    await produceAs(broker.bootstrapServers, { username: "orders-app", password: second }, "orders.placed", "order-2");

    // Rotation never goes back.
    const back = await alice.apply("kafka.user", "orders-app", user({ rotation: 0 })).catch((error: unknown) => error);
    expect(ConnectError.from(back).code).toBe(Code.FailedPrecondition);
    expect(fieldViolations(back).map((violation) => violation.field)).toEqual(["spec.rotation"]);

    // Delete: the plugin asks no review, but the service's global policy (DELETE: 1 by default) does.
    const deletion = await alice.delete("kafka.user", "orders-app");
    expect(deletion.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(deletion.change?.reviewReasons.join(" ")).not.toContain("grants");
    await waitFor(
      async () => {
        const { change } = await reviewer.changes.getChange({ id: deletion.change!.id });
        if (!change?.preview) throw new Error("no preview yet");
      },
      { what: "the preview of the delete", timeoutMs: 60_000 },
    );
    await reviewer.changes.approveChange({ id: deletion.change!.id, comment: "retired" });
    const deleted = await alice.waitForChange(deletion.change!.id);
    expect(deleted.status).toBe(ChangeStatus.SUCCEEDED);
    expect((await alice.get("kafka.user", "orders-app")).status).toBe(ResourceStatus.DELETED);
    expect(await scramUsers()).not.toContain("orders-app");
    expect(
      await refusal(
        produceAs(broker.bootstrapServers, { username: "orders-app", password: second }, "orders.placed", "gone"),
      ),
    ).toMatch(/SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/);
  });

  // The password set behind Plinth's back simulates a store restored from before a rotation through the broker's
  // admin API (the real restore is in core's backup-restore.test.ts).
  it("finds a user deleted by hand in one listing of the cluster and a password changed behind Plinth's back by one login; an untouched one gets no full check; setting a password back is always reviewed", async () => {
    // A service of its own with reconciling on, on the same broker: the other tests repair drift by hand.
    const previews = refreshPreviewCounter();
    const plugin = (exportName: string) => ({ module: kafkaPluginModule, export: exportName, settings });
    const watcher = await startRealService(broker.bootstrapServers, {
      config: { plugins: [plugin("kafkaTopic"), plugin("kafkaUser")], reconcile: { intervalMs: 500 } },
      wrapEngine: previews.wrapEngine,
    });
    try {
      const alice = createPlinthClient({ baseUrl: watcher.url, token: principals.requester.token });
      const reviewer = createPlinthClient({ baseUrl: watcher.url, token: principals.reviewer.token });
      const reader = user({ access: [{ topics: { prefix: "audit." }, operations: "read" }] });
      const created = await Promise.all(
        ["steady-reader", "vanished-reader", "restored-reader"].map((name) => alice.apply("kafka.user", name, reader)),
      );
      for (const { change } of created)
        expect((await alice.waitForChange(change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
      const held = (
        await alice.resources.revealSecret({ type: "kafka.user", name: "restored-reader", key: "password" })
      ).value?.kind.value as string;
      const live = { username: "restored-reader", password: "rotated-after-the-dump-7c2f" };

      await deleteCredentialOutOfBand(broker.bootstrapServers, broker.sasl!, "vanished-reader");
      await createCredentialOutOfBand(broker.bootstrapServers, broker.sasl!, live);
      const drifted = await waitFor(
        async () => {
          const resource = await alice.get("kafka.user", "vanished-reader");
          if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
          return resource;
        },
        { what: "vanished-reader DRIFTED", timeoutMs: 120_000 },
      );
      expect(drifted.drift?.findings[0]).toBe(
        'observed: user "vanished-reader" has no SCRAM credential on cluster "local"',
      );
      // Rounds go on: the drifted user is checked in full again, the untouched one never.
      const before = previews.count("kafka.user", "vanished-reader");
      await waitFor(
        async () => {
          if (previews.count("kafka.user", "vanished-reader") <= before) throw new Error("no later round yet");
        },
        { what: "one more round", timeoutMs: 300_000 },
      );
      expect(previews.count("kafka.user", "steady-reader")).toBe(0);
      expect((await alice.get("kafka.user", "steady-reader")).status).toBe(ResourceStatus.READY);

      // The round logs in with the password Plinth holds: a distinct drift, shown by GetResource, no secret in it.
      const mismatched = await waitFor(
        async () => {
          const resource = await alice.get("kafka.user", "restored-reader");
          if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
          return resource;
        },
        { what: "restored-reader DRIFTED", timeoutMs: 120_000 },
      );
      const findings = mismatched.drift!.findings.join("\n");
      expect(findings).toContain(
        'observed: user "restored-reader" cannot log in with the password Plinth holds: the broker\'s SCRAM credential does not match it',
      );
      expect(findings).not.toContain(held);
      expect(findings).not.toContain(live.password);

      // Bypass attempts: read-only users are auto-approved, yet neither an update nor a reconcile may set the
      // password back (cutting off the clients using the live one) without a reviewer.
      // Held for review, or applied: a change applied over the live password fails here at once.
      const inFlight = [ChangeStatus.APPROVED, ChangeStatus.QUEUED, ChangeStatus.APPLYING];
      const pendingReview = async (id: string) => {
        const change = await waitFor(
          async () => {
            const { change: current } = await alice.changes.getChange({ id });
            if (inFlight.includes(current!.status)) throw new Error(`still ${ChangeStatus[current!.status]}`);
            return current!;
          },
          { what: `change ${id} held for review`, timeoutMs: 120_000 },
        );
        expect(ChangeStatus[change.status]).toBe("PENDING_REVIEW");
        return change;
      };
      const update = await alice.apply("kafka.user", "restored-reader", { ...reader, description: "audit" });
      expect(update.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
      const heldUpdate = await pendingReview(update.change!.id);
      expect(heldUpdate.reviewReasons.join("\n")).toContain("the real system holds another secret");
      expect(heldUpdate.attempts).toBe(0);
      await reviewer.changes.rejectChange({ id: update.change!.id, comment: "not over a live password" });
      // Nothing was applied: the clients using the live password still read.
      await produceAs(broker.bootstrapServers, broker.sasl!, "audit.log", "audit-1");
      expect(await consumeAs(broker.bootstrapServers, live, "audit.log", "restored-reader.live", "audit-1")).toBe(
        "audit-1",
      );

      const repair = await alice.resources.reconcileResource({
        type: "kafka.user",
        name: "restored-reader",
        requestId: "set-back-restored-reader",
      });
      expect(repair.change?.requiredApprovals).toBe(0);
      const heldRepair = await pendingReview(repair.change!.id);
      expect(heldRepair.requiredApprovals).toBe(1);
      expect(heldRepair.preview?.steps).toMatchObject({ update: 1 });
      await reviewer.changes.approveChange({ id: repair.change!.id, comment: "set back after the restore" });
      const repaired = await alice.waitForChange(repair.change!.id);
      expect(repaired).toMatchObject({ status: ChangeStatus.SUCCEEDED });
      // Set back in place: the password Plinth reveals logs in and reads, the live one is refused.
      expect(
        await consumeAs(
          broker.bootstrapServers,
          { username: "restored-reader", password: held },
          "audit.log",
          "restored-reader.held",
          "audit-1",
        ),
      ).toBe("audit-1");
      expect(await refusal(produceAs(broker.bootstrapServers, live, "audit.log", "x"))).toMatch(
        /SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/,
      );
      await waitFor(
        async () => {
          const { status } = await alice.get("kafka.user", "restored-reader");
          if (status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[status]}`);
        },
        { what: "restored-reader READY again", timeoutMs: 120_000 },
      );
    } finally {
      await watcher.close();
    }
  });

  it("refuses bad specs with INVALID_ARGUMENT and field paths, persisting nothing", async () => {
    const alice = as("requester");
    const cases: [string, Record<string, unknown>, string[]][] = [
      ["bad-cluster", user({ cluster: "nowhere" }), ["spec.cluster"]],
      [
        "bad-prefix",
        user({ access: [{ topics: { prefix: "orders/*" }, operations: "read" }] }),
        ["spec.access.0.topics.prefix"],
      ],
      ["bad-operation", { ...user(), access: [{ topics: "all", operations: "admin" }] }, ["spec.access.0.operations"]],
      ["bad-topics", { ...user(), access: [{ topics: "everything", operations: "read" }] }, ["spec.access.0.topics"]],
      ["no-access", user({ access: [] }), ["spec.access"]],
      ["unknown-field", { ...user(), password: "chosen" }, ["spec.password"]],
      ["negative-rotation", user({ rotation: -1 }), ["spec.rotation"]],
      [
        "duplicate",
        user({
          access: [
            { topics: { prefix: "orders." }, operations: "read" },
            { topics: { prefix: "orders." }, operations: "write" },
          ],
        }),
        ["spec.access.1.topics"],
      ],
      // The consumer-group prefix defaults to the name: a bad name makes a bad default, said in the same reply.
      ["bad name!", user(), ["name", "spec.consumerGroups.prefix"]],
      [broker.sasl!.username, user(), ["name"]],
    ];
    for (const [index, [name, spec, fields]] of cases.entries()) {
      const error = await alice.resources
        .applyResource({ type: "kafka.user", name, spec: spec as never, requestId: `bad-${index}` })
        .catch((caught: unknown) => caught);
      expect(ConnectError.from(error).code, name).toBe(Code.InvalidArgument);
      expect(
        fieldViolations(error).map((violation) => violation.field),
        name,
      ).toEqual(fields);
    }
    // The schema's errors and the plugin's rules name the same request paths ("spec. ..." or "name").
    const names = new Set(cases.map(([name]) => name));
    const { resources } = await alice.resources.listResources({ type: "kafka.user" });
    expect(resources.filter((resource) => names.has(resource.name))).toEqual([]);
    const { changes } = await alice.changes.listChanges({});
    expect(changes.filter((change) => names.has(change.name))).toEqual([]);
    for (const [name] of cases) {
      const missing = await alice.get("kafka.user", name).catch((error: unknown) => ConnectError.from(error));
      expect(missing, name).toMatchObject({ code: Code.NotFound });
    }
  });

  // docs/using-the-sdk.md, executed against this server and broker: every `file=` block is written into a
  // folder outside the workspace, every `sh` block is run, in order; the service itself runs twice.
  it(
    "runs docs/using-the-sdk.md from an empty folder: the service waits for its review, produces and consumes, and changes nothing on its second run",
    { timeout: 900_000 },
    async () => {
      const repo = join(import.meta.dirname, "../../..");
      const blocks = guideBlocks(readFileSync(join(repo, "docs/using-the-sdk.md"), "utf8"));
      const files = blocks.filter((block) => block.file);
      const commands = blocks.filter((block) => block.lang === "sh").map((block) => block.body.trim());
      expect(files.map((block) => block.file)).toEqual(["package.json", "tsconfig.json", "src/service.ts"]);
      expect(commands[0]).toMatch(/^export PATH=.*\nmkdir orders-service && cd orders-service\n/);
      expect(commands.slice(1)).toEqual(["pnpm install", "pnpm exec tsc\nnode src/service.ts"]);

      // Under the run's scratch directory, far from the workspace: pnpm must not take it for one of its projects.
      const root = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "sdk-guide-"));
      const dir = join(root, "orders-service");
      const env = shellEnv({ PLINTH: repo, PLINTH_URL: service.url, PLINTH_TOKEN: principals.requester.token });
      try {
        expect(await runStep(commands[0]!, root, env)).toMatch(
          /installed: @plinth\/sdk and @plinth\/resource-types take/,
        );
        for (const block of files) {
          mkdirSync(dirname(join(dir, block.file!)), { recursive: true });
          writeFileSync(join(dir, block.file!), block.body);
        }
        // The guide's install, kept from any registry: offline, from what make setup put in pnpm's store
        // (the guide pins every dependency exactly).
        await runStep(`${commands[1]!} --offline`, dir, env);
        expect(existsSync(join(dir, "node_modules/@plinth/sdk/dist/index.js"))).toBe(true);
        // The SDK alone: no CLI, no server, no Pulumi.
        expect(readdirSync(join(dir, "node_modules/.pnpm")).join(" ")).not.toMatch(
          /commander@|cli-table3@|tsx@|@plinth\+(cli|core)@|@pulumi/,
        );

        // Every TypeScript snippet of kafka.md, postgres.md and notifications.md, type-checked as a service has them.
        expect(writeDocSnippets(repo, dir)).toBe(6);
        await runStep("pnpm exec tsc -p snippets", dir, env);

        // First run: the user may write, so it waits for a reviewer, who approves it while the service waits.
        const reviewer = as("reviewer");
        const approvals = new Map<string, Promise<unknown>>();
        const first = await runStep(commands[2]!, dir, env, (printed) => {
          for (const [, id] of printed.matchAll(/change (\S+) waits for a reviewer/g)) {
            if (!approvals.has(id!))
              approvals.set(
                id!,
                reviewer.approve(id!, { comment: "the orders service" }).then(
                  () => undefined,
                  (e: unknown) => e,
                ),
              );
          }
        });
        expect(await Promise.all(approvals.values())).toEqual([undefined]);
        expect(first).toMatch(/user payments-orders: change \S+ waits for a reviewer: .*write/);
        expect(first).toMatch(/topic payments\.orders\.v1: done/);
        expect(first).toMatch(/user payments-orders: done/);
        expect(first).toMatch(/consumed: order placed at /);

        // Second run: both applies answer with the applied changes; no new change, no review.
        const second = await runStep(commands[2]!, dir, env);
        expect(second).toMatch(/topic payments\.orders\.v1: already there/);
        expect(second).toMatch(/user payments-orders: already there/);
        expect(second).not.toContain("waits for a reviewer");
        expect(second).toMatch(/consumed: order placed at /);
        const { changes } = await as("requester").changes.listChanges({ type: "kafka.user", name: "payments-orders" });
        expect(changes).toHaveLength(1);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
