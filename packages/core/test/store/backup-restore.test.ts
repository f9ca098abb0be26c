import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { type PlinthClient, createPlinthClient } from "@plinth/sdk";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { freshDatabase } from "../support/fresh-database.ts";
import { type TestService, principals, startTestService } from "../support/test-service.ts";
import { kafkaPluginModule, kafkaServiceConfig, startRealService } from "../support/real-service.ts";
import { scrapeMetric } from "../support/scrape-metric.ts";
import { runRunbook } from "../support/runbook.ts";
import { plainLines, startServerProcess } from "../support/server-process-start.ts";
import { resolveEngineSettings } from "../../src/engine/pulumi/resolve-engine-settings.ts";
import { consumeAs, produceAs, refusal } from "../../../plugin-kafka/test/support/scram-clients.ts";

let postgres: PostgresServer | undefined;
const work = mkdtempSync(join(tmpdir(), "plinth-backup-"));
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
  rmSync(work, { recursive: true, force: true });
});

const serviceOn = async (url: string): Promise<TestService> =>
  await startTestService({ config: { store: { postgres: { url } } } });

describe("backup and restore of the PostgreSQL store, as docs/operating.md says", () => {
  it("a dump taken under load restores into a fresh database with its history and secrets, and in place", async () => {
    const live = await freshDatabase(postgres!, "live");
    const before = await serviceOn(live);
    const alice = before.as("requester");
    const settled: { name: string; serial: unknown }[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `kept-${i}`;
      const { change } = await alice.resources.applyResource({ type: "test.widget", name, spec: { size: i + 1 } });
      expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      const serial = await alice.resources.revealSecret({ type: "test.widget", name, key: "serial" });
      settled.push({ name, serial: toJson(ValueSchema, serial.value!) });
    }
    // Load while the dump runs: submissions and applies keep committing.
    const load = Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { change } = await alice.resources.applyResource({
          type: "test.widget",
          name: `during-${i}`,
          spec: { size: 1 },
        });
        return change!.id;
      }),
    );
    // docs/operating.md's commands, as the doc has them, in a folder of their own (the dump is ./plinth.dump).
    const cwd = mkdtempSync(join(work, "runbook-"));
    await runRunbook("backup", { cwd, env: { PLINTH_STORE_URL: live } });
    const submittedDuring = await load;
    await Promise.all(submittedDuring.map(async (id) => await watchToEnd(alice, id)));
    const changesBefore = new Map(
      (await before.as("admin").changes.listChanges({ pageSize: 500 })).changes.map((c) => [c.id, c.status]),
    );
    await before.close();

    // Into a fresh database: the command for a new server or a new database (no --clean: nothing to drop).
    const fresh = await freshDatabase(postgres!, "restored");
    await runRunbook("restore-fresh", { cwd, env: { FRESH_URL: fresh } });
    const after = await serviceOn(fresh);
    let restoredIds: Set<string> | undefined;
    try {
      const reader = after.as("requester");
      for (const { name, serial } of settled) {
        const { resource } = await reader.resources.getResource({ type: "test.widget", name });
        expect(resource?.revision, name).toBe(1n);
        const revealed = await reader.resources.revealSecret({ type: "test.widget", name, key: "serial" });
        expect(toJson(ValueSchema, revealed.value!), name).toEqual(serial);
      }
      // Every restored change was in the live store; none is newer than it was there.
      const restored = (await after.as("admin").changes.listChanges({ pageSize: 500 })).changes;
      restoredIds = new Set(restored.map((c) => c.id));
      // The doc's check of what was in flight at the dump: every change it lists is one of the restored.
      const listed = await runRunbook("check-restore", {
        cwd,
        env: { PLINTH_URL: after.url, PLINTH_TOKEN: principals.admin.token },
      });
      for (const id of listed.match(/\bchg_\w+/g) ?? []) expect(restoredIds.has(id), id).toBe(true);
      expect(restored.length).toBeGreaterThanOrEqual(settled.length);
      for (const change of restored) expect(changesBefore.has(change.id), change.id).toBe(true);
      // The restored server works: changes that were in flight at the dump go on to the end.
      for (const change of restored) {
        expect((await watchToEnd(reader, change.id)).change.status, change.id).toBe(ChangeStatus.SUCCEEDED);
      }
    } finally {
      await after.close();
    }

    // In place, over the live database, with the replicas stopped: --clean --if-exists drops what the dump recreates.
    await runRunbook("restore-in-place", { cwd, env: { PLINTH_STORE_URL: live } });
    const inPlace = await serviceOn(live);
    try {
      const listed = (await inPlace.as("admin").changes.listChanges({ pageSize: 500 })).changes;
      expect(new Set(listed.map((c) => c.id))).toEqual(restoredIds);
    } finally {
      await inPlace.close();
    }
  });
});

/** A Pulumi stack's outputs in the backend at `backendUrl`, secrets shown: what Pulumi's own state holds. */
function stackOutputs(service: TestService, backendUrl: string, stack: string): Record<string, unknown> {
  const settings = resolveEngineSettings({ dataDir: service.dataDir, passphrase: "test-passphrase" });
  const json = execFileSync(
    join(settings.pulumiRoot, "bin/pulumi"),
    ["stack", "output", "--json", "--show-secrets", "--stack", `organization/plinth/${stack}`],
    {
      cwd: settings.workRoot,
      env: {
        ...process.env,
        PULUMI_BACKEND_URL: backendUrl,
        PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
        PULUMI_HOME: settings.pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
      encoding: "utf8",
      stdio: "pipe",
    },
  );
  return JSON.parse(json) as Record<string, unknown>;
}

describe("a restore with the real engine, on a SCRAM broker", { timeout: 1_200_000 }, () => {
  let broker: KafkaBroker | undefined;
  afterAll(async () => await broker?.stop());

  it("keeps Pulumi's state and the store in agreement, finds exactly what changed after the dump as drift, holds a set-back of a restored user's password for review, and adopts the live password from the replaced store instead", async () => {
    broker = await startKafka({ scram: true });
    const settings = {
      clusters: {
        local: { bootstrapServers: [broker.bootstrapServers], brokers: 1, sasl: broker.sasl },
      },
    };
    const plugins = ["kafkaTopic", "kafkaUser"].map((name) => ({ module: kafkaPluginModule, export: name, settings }));
    const start = async (url: string, more: Record<string, unknown> = {}) =>
      await startRealService(broker!.bootstrapServers, {
        config: { store: { postgres: { url } }, plugins, ...more },
      });
    const clientOf = (service: TestService, who: keyof typeof principals = "requester") =>
      createPlinthClient({ baseUrl: service.url, token: principals[who].token });
    const succeeded = async (client: PlinthClient, id: string) =>
      expect((await client.waitForChange(id)).status, id).toBe(ChangeStatus.SUCCEEDED);
    const owner = { team: "payments", contact: "#payments" };
    const topic = (partitions: number) => ({ cluster: "local", partitions, owner });
    const user = (rotation: number) => ({
      cluster: "local",
      owner,
      access: [{ topics: { prefix: "restored." }, operations: "read" as const }],
      rotation,
    });

    // The Pulumi backend (Go) wants TLS unless told otherwise; the test server has none.
    const live = `${await freshDatabase(postgres!, "estate")}?sslmode=disable`;
    const before = await start(live);
    const alice = clientOf(before);
    for (const [type, name, spec] of [
      ["kafka.topic", "restored.kept", topic(1)],
      ["kafka.topic", "restored.changed", topic(1)],
      ["kafka.user", "restored-app", user(0)],
    ] as const) {
      await succeeded(alice, (await alice.apply(type, name, spec)).change!.id);
    }
    const reveal = async (client: PlinthClient) =>
      (await client.resources.revealSecret({ type: "kafka.user", name: "restored-app", key: "password" })).value?.kind
        .value as string;
    const held = await reveal(alice);
    const cwd = mkdtempSync(join(work, "runbook-"));
    await runRunbook("backup", { cwd, env: { PLINTH_STORE_URL: live } });

    // After the dump: the password rotated, a topic grown, a topic created. None of it is in the dump.
    await succeeded(alice, (await alice.apply("kafka.user", "restored-app", user(1))).change!.id);
    const rotated = await reveal(alice);
    expect(rotated).not.toBe(held);
    await succeeded(alice, (await alice.apply("kafka.topic", "restored.changed", topic(2))).change!.id);
    await succeeded(alice, (await alice.apply("kafka.topic", "restored.born", topic(1))).change!.id);
    await before.close();

    const restored = `${await freshDatabase(postgres!, "estate_restored")}?sslmode=disable`;
    const restoredDb = restored.replace(/\?.*$/, "");
    await runRunbook("restore-fresh", { cwd, env: { FRESH_URL: restoredDb } });
    // The real server process refuses to start on it: Pulumi's PostgreSQL backend keys its state by the
    // database's name, so under another name it lists none of the stacks of what the store holds as applied.
    const serverOnRestored = { store: { postgres: { url: restored } }, plugins, reconcile: { intervalMs: 0 } };
    const refused = await startServerProcess(serverOnRestored);
    expect(refused).toMatchObject({ served: false, code: 1 });
    expect(plainLines(refused.stderr)).toEqual([
      expect.stringMatching(
        /^plinth: the Pulumi state backend has no stack for the resources the store holds as applied \(kafka\.topic restored\.changed, kafka\.topic restored\.kept, kafka\.user restored-app; none of 3 checked\): .*move Pulumi's state to the new name/,
      ),
    ]);
    // Moved across, as docs/operating.md says, after that refused start (whose look at the backend filed a new
    // meta.yaml under the new name, which the move replaces); then it starts.
    const name = new URL(restoredDb).pathname.slice(1);
    await runRunbook("move-pulumi-state", { cwd, env: { FRESH_URL: restoredDb, FRESH_NAME: name } });
    expect(await startServerProcess(serverOnRestored)).toMatchObject({ served: true, code: 0 });
    const after = await start(restored, { reconcile: { intervalMs: 1_000 } });
    try {
      const bob = clientOf(after);
      // Pulumi's state (restored beside the store, in the same database) and the store agree, secrets too.
      expect(await reveal(bob)).toBe(held);
      for (const [type, name] of [
        ["kafka.topic", "restored.kept"],
        ["kafka.topic", "restored.changed"],
        ["kafka.user", "restored-app"],
      ] as const) {
        const state = stackOutputs(after, restored, `${type}--${name}`);
        const { password, ...open } = state;
        expect(open, name).toEqual((await bob.get(type, name)).outputs);
        if (type === "kafka.user") expect(password).toBe(held);
      }
      expect(() => stackOutputs(after, restored, "kafka.topic--restored.born")).toThrow();

      // Drift rounds over the restored estate find exactly what changed on the cluster after the dump.
      await waitFor(
        async () => {
          for (const [type, name] of [
            ["kafka.user", "restored-app"],
            ["kafka.topic", "restored.changed"],
          ] as const) {
            const { status } = await bob.get(type, name);
            if (status !== ResourceStatus.DRIFTED) throw new Error(`${name} is ${ResourceStatus[status]}`);
          }
        },
        { what: "the rotated user and the grown topic DRIFTED", timeoutMs: 300_000 },
      );
      const rounds = await scrapeMetric(after.url, "plinth_reconcile_rounds_total");
      await waitFor(
        async () => {
          if ((await scrapeMetric(after.url, "plinth_reconcile_rounds_total")) < rounds + 2)
            throw new Error("not two more rounds yet");
        },
        { what: "two more rounds", timeoutMs: 300_000 },
      );
      const drifted = (await clientOf(after, "admin").resources.listResources({ pageSize: 100 })).resources
        .filter((resource) => resource.status === ResourceStatus.DRIFTED)
        .map((resource) => resource.name)
        .sort();
      expect(drifted).toEqual(["restored-app", "restored.changed"]);
      const userDrift = (await bob.get("kafka.user", "restored-app")).drift!.findings.join("\n");
      expect(userDrift).toContain("the broker's SCRAM credential does not match it");
      expect(userDrift).not.toContain(held);
      expect(userDrift).not.toContain(rotated);

      // Setting the credential back to the password Plinth holds would cut off the clients using the rotated one:
      // held for a reviewer although the team's rules approve a read-only user's changes by themselves.
      const setBack = await bob.resources.reconcileResource({
        type: "kafka.user",
        name: "restored-app",
        requestId: "set-back-restored-app",
      });
      expect(setBack.change!.requiredApprovals).toBe(0);
      const inFlight = [ChangeStatus.APPROVED, ChangeStatus.QUEUED, ChangeStatus.APPLYING];
      const held4Review = await waitFor(
        async () => {
          const { change } = await bob.changes.getChange({ id: setBack.change!.id });
          if (inFlight.includes(change!.status)) throw new Error(`still ${ChangeStatus[change!.status]}`);
          return change!;
        },
        { what: "the set-back held for review", timeoutMs: 120_000 },
      );
      expect(ChangeStatus[held4Review.status]).toBe("PENDING_REVIEW");
      expect(held4Review).toMatchObject({ requiredApprovals: 1, attempts: 0 });
      expect(held4Review.reviewReasons.join("\n")).toContain("cuts off every client using the other");
      await clientOf(after, "reviewer").changes.rejectChange({ id: setBack.change!.id, comment: "adopt instead" });
      // Nothing was applied: the clients holding the rotated password still read.
      await produceAs(broker.bootstrapServers, broker.sasl!, "restored.kept", "after-restore");
      const liveLogin = { username: "restored-app", password: rotated };
      expect(
        await consumeAs(broker.bootstrapServers, liveLogin, "restored.kept", "restored-app.readers", "after-restore"),
      ).toBe("after-restore");

      // The non-destructive repair: adopt the live password from the database the restore replaced (still there,
      // beside it), as docs/operating.md says. Nobody reveals or types it, and the broker is not touched.
      const config = join(cwd, "plinth.json");
      writeFileSync(
        config,
        JSON.stringify(
          kafkaServiceConfig(after.dataDir, broker.bootstrapServers, {
            store: { postgres: { url: restored } },
            plugins,
          }),
        ),
      );
      const adopted = await runRunbook("adopt-secrets", {
        cwd,
        env: { PLINTH_CONFIG: config, PLINTH_ADOPT_FROM: live, PLINTH_LOG_LEVEL: "warn" },
      });
      expect(adopted).toContain("plinth: adopted: kafka.user restored-app: the real system accepts the secret");
      expect(adopted).toContain("plinth: 1 adopted, 0 still refused");
      expect(adopted).not.toContain(rotated);
      expect(await reveal(bob)).toBe(rotated);
      // Pulumi's state follows with a reconcile: approved as the team's rules say (it cuts nobody off), in place.
      const follow = await bob.resources.reconcileResource({
        type: "kafka.user",
        name: "restored-app",
        requestId: "follow-restored-app",
      });
      const followed = await bob.waitForChange(follow.change!.id);
      expect(followed).toMatchObject({ status: ChangeStatus.SUCCEEDED, attempts: 1, requiredApprovals: 0 });
      expect(followed.preview?.steps).toMatchObject({ update: 1 });
      expect(followed.preview?.steps?.delete ?? 0).toBe(0);
      expect(followed.preview?.steps?.create ?? 0).toBe(0);
      expect(stackOutputs(after, restored, "kafka.user--restored-app").password).toBe(rotated);
      expect(await reveal(bob)).toBe(rotated);
      // Its clients read on with the rotated password; the dump's is refused.
      expect(
        await consumeAs(broker.bootstrapServers, liveLogin, "restored.kept", "restored-app.readers2", "after-restore"),
      ).toBe("after-restore");
      expect(
        await refusal(
          consumeAs(broker.bootstrapServers, { ...liveLogin, password: held }, "restored.kept", "g", "x", 10_000, 0),
        ),
      ).toMatch(/SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/);
      await waitFor(
        async () => {
          const { status } = await bob.get("kafka.user", "restored-app");
          if (status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[status]}`);
        },
        { what: "the adopted user READY", timeoutMs: 120_000 },
      );
    } finally {
      await after.close();
    }
  });
});
