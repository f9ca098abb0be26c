import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { JsonObject } from "@plinth/core";
import { Code, ChangeStatus, ConnectError, InventoryState, ResourceStatus, fieldViolations } from "@plinth/sdk";
import { type PostgresServer, type TestService, createTestService, startPostgres, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/resource-types.ts";
import { localSettings } from "./support/fixtures.ts";
import { adminQuery, databaseSeen, extensionsOf, loginAs, roleExists } from "./support/server-queries.ts";

/** The plugin module as a service config names it: loaded through tsx, like `make start` does. */
const pluginModule = join(import.meta.dirname, "../src/index.ts");

/** Every file under `dir` whose bytes contain `text`. */
function filesContaining(dir: string, text: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => readFileSync(file).includes(text));
}

/** Runs a call that must fail; returns its Connect code and the field paths of its BadRequest. */
async function refusal(call: Promise<unknown>): Promise<{ code: Code; fields: string[]; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return {
      code: connectError.code,
      fields: fieldViolations(connectError).map((violation) => violation.field),
      message: connectError.rawMessage,
    };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

// Everything real: server, SQLite, worker, Pulumi CLI, the dynamic provider host, PostgreSQL.
describe("postgres.database through Plinth, the Pulumi engine and a real PostgreSQL", { timeout: 300_000 }, () => {
  let server: PostgresServer;
  let service: TestService;
  beforeAll(async () => {
    server = await startPostgres();
    service = await createTestService({
      plugins: [
        {
          module: pluginModule,
          export: "postgresDatabase",
          settings: localSettings(server),
        },
      ],
      settings: { reconcile: { intervalMs: 500 } },
    });
  });
  afterAll(async () => {
    await service?.close();
    await server?.stop();
  });

  const reveal = async (name: string): Promise<string> => {
    const { value } = await service
      .client("requester")
      .resources.revealSecret({ type: "postgres.database", name, key: "password" });
    if (value?.kind.case !== "stringValue") throw new Error("the password is not a string");
    return value.kind.value;
  };
  /**
   * Waits for a change; approves it first when it waits for review, once
   * the reviewers' preview is there, as a reviewer would. (Approving while
   * that preview still runs hits a worker race fixed on another branch.)
   */
  const settle = async (change: { id: string; status: ChangeStatus } | undefined) => {
    if (!change) throw new Error("no change");
    if (change.status === ChangeStatus.PENDING_REVIEW) {
      await waitFor(
        async () => {
          const { change: current, events } = await service.client("reviewer").changes.getChange({ id: change.id });
          if (!current?.preview && !events.some((event) => event.message.startsWith("preview unavailable")))
            throw new Error("no preview yet");
        },
        { what: `the review preview of ${change.id}`, timeoutMs: 120_000 },
      );
      await service.client("reviewer").changes.approveChange({ id: change.id, comment: "reviewed" });
    }
    return await service.client("requester").waitForChange(change.id);
  };

  it("creates, verifies by logging in as the owner, updates, rotates, refuses a protected delete and deletes after review", async () => {
    const alice = service.client("requester");
    const created = await alice.apply("postgres.database", "orders", { instance: "local", extensions: ["pgcrypto"] });
    expect(created.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    const done = await alice.waitForChange(created.change!.id);
    expect(done.status).toBe(ChangeStatus.SUCCEEDED);
    const { events } = await alice.changes.getChange({ id: done.id });
    expect(events.map((event) => event.message).join("\n")).toMatch(
      /verified: .*orders_owner logs in with its generated password/,
    );

    const resource = await alice.get("postgres.database", "orders");
    expect(resource.resolvedSpec).toMatchObject({ database: "orders", owner: "orders_owner", connectionLimit: 20 });
    expect(resource.outputs).toMatchObject({ database: "orders", owner: "orders_owner", port: server.port });
    expect(JSON.stringify(resource.outputs)).not.toMatch(/password|postgresql:\/\//);
    expect([...resource.secretOutputKeys].sort()).toEqual(["password", "uri"]);

    // Its page's summary, read by another team: the size PostgreSQL reports, and the connection limit.
    const sizeOnServer = async () =>
      Number((await adminQuery<{ size: string }>(server, "select pg_database_size('orders')::text as size"))[0]!.size);
    const summary = await waitFor(
      async () => {
        const read = await service.client("outsider").resources.getResourceSummary({
          type: "postgres.database",
          name: "orders",
        });
        const size = read.facts.find((fact) => fact.label === "Size");
        const seen = await sizeOnServer();
        if (size?.value !== seen) throw new Error(`summary ${size?.value}, server ${seen}`);
        return read;
      },
      { what: "the summary's size equal to the server's", timeoutMs: 30_000 },
    );
    expect(summary.facts.find((fact) => fact.label === "Size")).toMatchObject({ unit: "bytes", source: "PostgreSQL" });
    expect(summary.facts.find((fact) => fact.label === "Size")!.value).toBeGreaterThan(1_000_000);
    expect(summary.facts.find((fact) => fact.label === "Connection limit")).toMatchObject({ value: 20, unit: "count" });
    expect(summary.missing).toEqual([]);

    const password = await reveal("orders");
    expect(await loginAs(server, "orders_owner", password, "orders")).toBe("orders_owner");
    // Nowhere in plain text: not in the store, not in Pulumi's state, not in any event.
    expect(filesContaining(service.dataDir, password)).toEqual([]);
    expect(filesContaining(service.dataDir, server.password)).toEqual([]);
    expect(JSON.stringify(events.map((event) => [event.message, event.details]))).not.toContain(password);
    expect(
      (
        await refusal(
          service
            .client("outsider")
            .resources.revealSecret({ type: "postgres.database", name: "orders", key: "password" }),
        )
      ).code,
    ).toBe(Code.PermissionDenied);

    const grown = await alice.apply("postgres.database", "orders", {
      instance: "local",
      extensions: ["pgcrypto", "citext"],
      connectionLimit: 40,
    });
    expect((await settle(grown.change)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(await databaseSeen(server, "orders")).toEqual({ owner: "orders_owner", connectionLimit: 40 });
    expect(await extensionsOf(server, "orders")).toEqual(["citext", "pgcrypto"]);
    expect(await reveal("orders")).toBe(password);

    const rotated = await alice.apply("postgres.database", "orders", {
      instance: "local",
      extensions: ["pgcrypto", "citext"],
      connectionLimit: 40,
      rotation: 1,
    });
    expect((await settle(rotated.change)).status).toBe(ChangeStatus.SUCCEEDED);
    const newPassword = await reveal("orders");
    expect(newPassword).not.toBe(password);
    await expect(loginAs(server, "orders_owner", password, "orders")).rejects.toMatchObject({ code: "28P01" });
    expect(await loginAs(server, "orders_owner", newPassword, "orders")).toBe("orders_owner");

    const protectedSpec = { instance: "local", extensions: ["pgcrypto", "citext"], connectionLimit: 40, rotation: 1 };
    const protecting = await alice.apply("postgres.database", "orders", { ...protectedSpec, protect: true });
    expect((await settle(protecting.change)).status).toBe(ChangeStatus.SUCCEEDED);
    const refused = await refusal(alice.delete("postgres.database", "orders"));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.fields).toContain("spec.protect");
    expect(await databaseSeen(server, "orders")).toBeDefined();

    const unprotecting = await alice.apply("postgres.database", "orders", { ...protectedSpec, protect: false });
    expect(unprotecting.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect((await settle(unprotecting.change)).status).toBe(ChangeStatus.SUCCEEDED);

    // Someone is connected: the delete still goes through (DROP DATABASE ... WITH (FORCE)).
    const deletion = await alice.delete("postgres.database", "orders");
    expect(deletion.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(deletion.change?.reviewReasons.join(" ")).toMatch(/drops database "orders"/);
    const deleted = await settle(deletion.change);
    expect(deleted.status).toBe(ChangeStatus.SUCCEEDED);
    const deleteEvents = (await alice.changes.getChange({ id: deleted.id })).events.map((event) => event.message);
    expect(deleteEvents.some((message) => message.startsWith("verified gone"))).toBe(true);
    expect((await alice.get("postgres.database", "orders")).status).toBe(ResourceStatus.DELETED);
    expect(await databaseSeen(server, "orders")).toBeUndefined();
    expect(await roleExists(server, "orders_owner")).toBe(false);
  });

  it("marks a database changed behind its back DRIFTED; ReconcileResource puts it back", async () => {
    const alice = service.client("requester");
    const created = await alice.apply("postgres.database", "drifty", { instance: "local", connectionLimit: 7 });
    expect((await settle(created.change)).status).toBe(ChangeStatus.SUCCEEDED);

    await adminQuery(server, 'alter database "drifty" connection limit 2');
    const drifted = await waitFor(
      async () => {
        const resource = await alice.get("postgres.database", "drifty");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
        return resource;
      },
      { what: "drifty marked DRIFTED", timeoutMs: 120_000 },
    );
    expect(drifted.drift?.findings.join(" ")).toMatch(/connection limit is 2, expected 7/);

    const repair = await alice.resources.reconcileResource({
      type: "postgres.database",
      name: "drifty",
      requestId: "repair-drifty",
    });
    expect((await settle(repair.change)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(await databaseSeen(server, "drifty")).toEqual({ owner: "drifty_owner", connectionLimit: 7 });
    await waitFor(
      async () => {
        const resource = await alice.get("postgres.database", "drifty");
        if (resource.status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[resource.status]}`);
      },
      { what: "drifty READY again", timeoutMs: 120_000 },
    );
  });

  it("finds a password Plinth no longer holds (a restore from before a rotation) as drift, and sets it back in place", async () => {
    const alice = service.client("requester");
    const created = await alice.apply("postgres.database", "restored", { instance: "local" });
    expect((await settle(created.change)).status).toBe(ChangeStatus.SUCCEEDED);
    const held = await reveal("restored");
    const identities = async () =>
      await adminQuery(
        server,
        "select (select oid from pg_database where datname = 'restored') as database, (select oid from pg_roles where rolname = 'restored_owner') as role",
      );
    const before = await identities();

    // The instance holds a newer password than the store: what a store restored from before a rotation sees.
    const rotated = "rotated-after-the-dump-4d1e";
    await adminQuery(server, `alter role restored_owner password '${rotated}'`);
    const drifted = await waitFor(
      async () => {
        const resource = await alice.get("postgres.database", "restored");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
        return resource;
      },
      { what: "restored marked DRIFTED", timeoutMs: 120_000 },
    );
    const findings = drifted.drift!.findings.join("\n");
    expect(findings).toMatch(/role restored_owner cannot log in to database "restored" with the password Plinth holds/);
    expect(findings).not.toContain(held);
    expect(findings).not.toContain(rotated);

    // The repair: an update in place, in one attempt, that sets the role's password back to the one Plinth reveals.
    // It cuts off the clients using the rotated password, so a reviewer decides, whatever the review rules say.
    const repair = await alice.resources.reconcileResource({
      type: "postgres.database",
      name: "restored",
      requestId: "repair-restored",
    });
    expect(repair.change?.requiredApprovals).toBe(0);
    // Held for review, or applied: a set-back applied without one fails here at once.
    const inFlight = [ChangeStatus.APPROVED, ChangeStatus.QUEUED, ChangeStatus.APPLYING];
    const forced = await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: repair.change!.id });
        if (inFlight.includes(change!.status)) throw new Error(`still ${ChangeStatus[change!.status]}`);
        return change!;
      },
      { what: "the set-back held for review", timeoutMs: 120_000 },
    );
    expect(ChangeStatus[forced.status]).toBe("PENDING_REVIEW");
    expect(forced).toMatchObject({ requiredApprovals: 1, attempts: 0 });
    expect(forced.reviewReasons.join("\n")).toContain("the role's password does not match it");
    // Nothing applied yet: the rotated password still logs in.
    expect(await loginAs(server, "restored_owner", rotated, "restored")).toBe("restored_owner");
    const repaired = await settle(forced);
    expect(repaired).toMatchObject({ status: ChangeStatus.SUCCEEDED, attempts: 1 });
    expect(repaired.preview?.steps).toMatchObject({ update: 1 });
    expect(repaired.preview?.steps?.delete ?? 0).toBe(0);
    expect(repaired.preview?.steps?.create ?? 0).toBe(0);
    expect(repaired.preview?.steps?.replace ?? 0).toBe(0);
    expect(await reveal("restored")).toBe(held);
    expect(await loginAs(server, "restored_owner", held, "restored")).toBe("restored_owner");
    await expect(loginAs(server, "restored_owner", rotated, "restored")).rejects.toMatchObject({ code: "28P01" });
    // Neither the database nor its role was made again.
    expect(await identities()).toEqual(before);
    await waitFor(
      async () => {
        const resource = await alice.get("postgres.database", "restored");
        if (resource.status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[resource.status]}`);
      },
      { what: "restored READY again", timeoutMs: 120_000 },
    );
  });

  it("finds a dropped database in one listing of the instance; an untouched one gets no full check", async () => {
    const alice = service.client("requester");
    const [steady, dropped] = await Promise.all([
      alice.apply("postgres.database", "steady", { instance: "local" }),
      alice.apply("postgres.database", "dropped", { instance: "local" }),
    ]);
    expect((await settle(steady.change)).status).toBe(ChangeStatus.SUCCEEDED);
    expect((await settle(dropped.change)).status).toBe(ChangeStatus.SUCCEEDED);

    // WITH (FORCE): a verify may be logged in at that moment.
    await adminQuery(server, 'drop database "dropped" with (force)');
    const drifted = await waitFor(
      async () => {
        const resource = await alice.get("postgres.database", "dropped");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
        return resource;
      },
      { what: "dropped marked DRIFTED", timeoutMs: 120_000 },
    );
    expect(drifted.drift?.findings[0]).toBe('observed: database "dropped" not found on instance "local"');
    // Rounds go on: the drifted database is checked in full again, the untouched one never.
    const fullChecks = (name: string) =>
      service
        .logs()
        .split("\n")
        .filter((line) => line.includes('"reconcile checks the resource in full"') && line.includes(`"name":"${name}"`))
        .length;
    const before = fullChecks("dropped");
    await waitFor(
      async () => {
        if (fullChecks("dropped") <= before) throw new Error("no later round yet");
      },
      { what: "one more round", timeoutMs: 300_000 },
    );
    expect(fullChecks("steady")).toBe(0);
    expect((await alice.get("postgres.database", "steady")).status).toBe(ResourceStatus.READY);
  });

  it("refuses a database that exists but is not managed, saying so", async () => {
    await adminQuery(server, "create database legacy");
    const outcome = await refusal(
      service.client("requester").apply("postgres.database", "legacy", { instance: "local" }),
    );
    expect(outcome.code).toBe(Code.AlreadyExists);
    expect(outcome.message).toMatch(/already exists on instance "local" but Plinth does not manage it/);
    const { items } = await service
      .client("requester")
      .plugins.listInventory({ type: "postgres.database", scope: "local" });
    expect(items.find((item) => item.name === "legacy")).toMatchObject({
      state: InventoryState.UNMANAGED,
      observed: { owner: "postgres", connectionLimit: -1 },
    });
    expect(items.find((item) => item.name === "drifty")?.state).toBe(InventoryState.MANAGED);
  });

  it.each<{ reason: string; name: string; spec: JsonObject; field: string }>([
    { reason: "upper case in the name", name: "Orders", spec: { instance: "local" }, field: "name" },
    { reason: "a reserved word", name: "select", spec: { instance: "local" }, field: "name" },
    {
      reason: "a system database",
      name: "x",
      spec: { instance: "local", database: "template1" },
      field: "spec.database",
    },
    { reason: "an unknown instance", name: "db1", spec: { instance: "nowhere" }, field: "spec.instance" },
    {
      reason: "an extension not allowed",
      name: "db2",
      spec: { instance: "local", extensions: ["plpython3u"] },
      field: "spec.extensions.0",
    },
    {
      reason: "above the connection guardrail",
      name: "db3",
      spec: { instance: "local", connectionLimit: 500 },
      field: "spec.connectionLimit",
    },
    {
      reason: "the admin role as owner",
      name: "db4",
      spec: { instance: "local", owner: "postgres" },
      field: "spec.owner",
    },
    { reason: "an unknown field", name: "db5", spec: { instance: "local", size: 3 }, field: "spec.size" },
    {
      reason: "a limit that is not a whole number",
      name: "db6",
      spec: { instance: "local", connectionLimit: 1.5 },
      field: "spec.connectionLimit",
    },
  ])("refuses $reason with INVALID_ARGUMENT on $field, persisting nothing", async ({ name, spec, field }) => {
    const alice = service.client("requester");
    const outcome = await refusal(
      alice.resources.applyResource({ type: "postgres.database", name, spec, requestId: `bad-${name}` }),
    );
    expect(outcome.code).toBe(Code.InvalidArgument);
    expect(outcome.fields).toContain(field);
    expect((await refusal(alice.get("postgres.database", name))).code).toBe(Code.NotFound);
    expect(await databaseSeen(server, name)).toBeUndefined();
  });
});
