import { join } from "node:path";
import type { JsonObject } from "@bufbuild/protobuf";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { type PostgresServer, devIdpRules, startDevIdp, startPostgres, waitFor } from "@plinth/testing";
import { freshDatabase } from "../support/fresh-database.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type Clients, type TestService, startTestService } from "../support/test-service.ts";

// Concurrent requests to two replicas sharing one PostgreSQL store (docs/operating.md, "How the PostgreSQL
// store keeps concurrent work correct"): what the store's locks and constraints must keep true.

let server: PostgresServer;
const running: TestService[] = [];

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.close()));
});

afterAll(async () => {
  await server?.stop();
});

/** Two replicas (each with its own pool, worker and fake engine) on a new, empty database. */
async function twoReplicas(): Promise<[TestService, TestService]> {
  const config = {
    store: { postgres: { url: await freshDatabase(server, "concurrency"), poolSize: 20 } },
    plugins: [
      { module: join(import.meta.dirname, "../support/widget-plugin.ts"), export: "widgetPlugin" },
      { module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" },
    ],
  };
  const first = await startTestService({ config });
  running.push(first);
  const second = await startTestService({ config });
  running.push(second);
  return [first, second];
}

/** Store transactions a replica ran again (plinth_store_transaction_retries_total, all codes). */
async function storeRetries(service: TestService): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("plinth_store_transaction_retries_total{"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

const widget = (
  clients: Clients,
  name: string,
  labels: Record<string, string> = {},
  requestId = `${name}-${Math.random()}`,
) => clients.resources.applyResource({ type: "test.widget", name, spec: { size: 5 }, labels, requestId });

describe("the PostgreSQL store under concurrent requests to two replicas", () => {
  it(
    "commits concurrent creates of different resources without running any transaction again",
    { timeout: 120_000 },
    async () => {
      const replicas = await twoReplicas();
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) => widget(replicas[i % 2]!.as("requester"), `distinct-${i}`)),
      );
      expect(created.every((response) => response.change?.kind === ChangeKind.CREATE)).toBe(true);
      // The workers claim and record them meanwhile: those transactions count too.
      for (const response of created) {
        expect((await watchToEnd(replicas[0].as("requester"), response.change!.id)).change.status).toBe(
          ChangeStatus.SUCCEEDED,
        );
      }
      expect((await storeRetries(replicas[0])) + (await storeRetries(replicas[1]))).toBe(0);
    },
  );

  it(
    "queues concurrent changes to one resource in order: one CREATE, the rest UPDATEs, applied in that order",
    { timeout: 120_000 },
    async () => {
      const replicas = await twoReplicas();
      const submitted = await Promise.all(
        Array.from({ length: 12 }, (_, i) => widget(replicas[i % 2]!.as("requester"), "shared", { n: String(i) })),
      );
      const changes = (await replicas[0].as("requester").changes.listChanges({ type: "test.widget", name: "shared" }))
        .changes;
      expect(changes.map((change) => change.id).sort()).toEqual(
        submitted.map((response) => response.change!.id).sort(),
      );
      expect(changes.map((change) => change.kind)).toEqual([
        ChangeKind.CREATE,
        ...Array.from({ length: 11 }, () => ChangeKind.UPDATE),
      ]);
      for (const change of changes) {
        expect((await watchToEnd(replicas[1].as("requester"), change.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      }
      const revisions = (
        await replicas[0].as("requester").resources.listRevisions({ type: "test.widget", name: "shared", pageSize: 50 })
      ).revisions;
      // Revisions are listed newest first; each change made the next one, in the order the changes were queued.
      expect(revisions.map((revision) => revision.changeId).reverse()).toEqual(changes.map((change) => change.id));
      const resource = (
        await replicas[1].as("requester").resources.getResource({ type: "test.widget", name: "shared" })
      ).resource!;
      // The last one queued is the one that holds.
      const last = submitted.findIndex((response) => response.change!.id === changes.at(-1)!.id);
      expect(resource.labels).toEqual({ n: String(last) });
    },
  );

  it("gives one change for 20 concurrent replays of one request over both replicas", { timeout: 120_000 }, async () => {
    const replicas = await twoReplicas();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => widget(replicas[i % 2]!.as("requester"), "replayed", {}, "one-request")),
    );
    const ids = new Set(replies.map((reply) => reply.change?.id));
    expect(ids.size).toBe(1);
    expect(replies.filter((reply) => !reply.deduplicated)).toHaveLength(1);
    const changes = (await replicas[1].as("requester").changes.listChanges({ type: "test.widget", name: "replayed" }))
      .changes;
    expect(changes.map((change) => change.id)).toEqual([...ids]);
  });

  it(
    "gives one change for each of 20 concurrent pairs of identical DeleteResource calls over both replicas",
    { timeout: 180_000 },
    async () => {
      const replicas = await twoReplicas();
      const names = Array.from({ length: 20 }, (_, i) => `doomed-${i}`);
      for (const name of names) {
        const created = await widget(replicas[0].as("requester"), name);
        expect((await watchToEnd(replicas[0].as("requester"), created.change!.id)).change.status).toBe(
          ChangeStatus.SUCCEEDED,
        );
      }
      // Both of a pair start before either commits: the second must answer with the first's change, not
      // NOT_FOUND for a resource the first is already deleting.
      const pairs = await Promise.all(
        names.map((name) =>
          Promise.all(
            replicas.map((replica) =>
              replica
                .as("requester")
                .resources.deleteResource({ type: "test.widget", name, requestId: `delete-${name}` })
                .then(
                  (reply) => reply.change?.id ?? "no change",
                  (error: unknown) => `failed: ${Code[ConnectError.from(error).code]}`,
                ),
            ),
          ),
        ),
      );
      for (const [i, ids] of pairs.entries()) {
        expect(ids[0], names[i]).toMatch(/^[^ ]+$/);
        expect(ids, names[i]).toEqual([ids[0], ids[0]]);
      }
    },
  );

  it("lets concurrent creates by one team take it to its quota and no further", { timeout: 120_000 }, async () => {
    const replicas = await twoReplicas();
    const spec: JsonObject = { owner: { team: "payments", contact: "#payments" } };
    // test.owned allows each team 5; 12 creates by payments, on both replicas at once.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        replicas[i % 2]!.as(i % 3 === 0 ? "teammate" : "requester").resources.applyResource({
          type: "test.owned",
          name: `quota-${i}`,
          spec,
          requestId: `quota-${i}`,
        }),
      ),
    );
    const refused = await Promise.all(
      outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [failure(Promise.reject(outcome.reason))] : [])),
    );
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(5);
    expect(refused).toHaveLength(7);
    expect(refused.every((refusal) => refusal.code === Code.ResourceExhausted)).toBe(true);
    const usage = await replicas[0].as("requester").resources.getTeamUsage({ team: "payments" });
    expect(usage.usage.find((row) => row.metric === "things")).toMatchObject({ used: 5, limit: 5 });
  });
  it(
    "never lets a grant and a resource it reaches, submitted at once, both go through without the owner asked",
    { timeout: 120_000 },
    async () => {
      const owner = (team: string): JsonObject => ({ owner: { team, contact: `#${team}` } });
      // payments asks to read target-i while search creates target-i, each pair at once on the two replicas; a
      // few times over, on new databases (each team may own 5), since a race shows only when the two overlap.
      for (let round = 0; round < 3; round++) {
        const replicas = await twoReplicas();
        const pairs = await Promise.all(
          Array.from({ length: 5 }, async (_, i) => {
            const [reader, target] = await Promise.allSettled([
              replicas[0].as("requester").resources.applyResource({
                type: "test.owned",
                name: `reader-${i}`,
                spec: { ...owner("payments"), reads: [`target-${i}`] },
                requestId: `reader-${i}`,
              }),
              replicas[1].as("outsider").resources.applyResource({
                type: "test.owned",
                name: `target-${i}`,
                spec: owner("search"),
                requestId: `target-${i}`,
              }),
            ]);
            return { reader, target };
          }),
        );
        for (const { reader, target } of pairs) {
          if (reader.status === "rejected") throw reader.reason;
          // Either the target came second and is refused, or the grant came second and asks search.
          if (target.status === "rejected") {
            expect(await failure(Promise.reject(target.reason))).toMatchObject({ code: Code.FailedPrecondition });
          } else {
            expect(reader.value.change!.accessRequests.map((request) => request.ownerTeam)).toContain("search");
          }
        }
      }
    },
  );
});

describe("the admins' deny list on replicas sharing a PostgreSQL store", () => {
  it(
    "refuses a principal on every replica within a second of an admin denying it on one, without a restart",
    { timeout: 120_000 },
    async () => {
      await using idp = await startDevIdp();
      const config = {
        store: { postgres: { url: await freshDatabase(server, "deny"), poolSize: 4 } },
        oidc: { issuers: [{ issuer: idp.issuer, audience: "plinth", rules: devIdpRules }] },
      };
      const first = await startTestService({ config });
      running.push(first);
      const second = await startTestService({ config });
      running.push(second);
      const [alice, carol] = await Promise.all([idp.deviceSignIn("alice"), idp.deviceSignIn("carol")]);
      const identity = (replica: TestService, token: string) =>
        createClient(
          IdentityService,
          createConnectTransport({
            baseUrl: replica.url,
            httpVersion: "1.1",
            interceptors: [
              (next) => async (req) => {
                req.header.set("authorization", `Bearer ${token}`);
                return await next(req);
              },
            ],
          }),
        );
      // Both replicas know alice (and keep her connection's principal cached).
      for (const replica of [first, second])
        expect((await identity(replica, alice.access_token).whoAmI({})).id).toBe("alice");
      // Each replica keeps a copy of the list, never older than 1 s (docs/security.md): the replica that took the
      // denial refuses at once, the other within that bound (waited for generously: the machine may be loaded).
      await identity(first, carol.access_token).denyPrincipal({ principal: "alice", reason: "lost laptop" });
      const refused = await failure(identity(first, alice.access_token).whoAmI({}));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(refused.message).toMatch(/lost laptop/);
      const refusedElsewhere = await waitFor(() => failure(identity(second, alice.access_token).whoAmI({})), {
        what: "the other replica to refuse alice",
        timeoutMs: 10_000,
      });
      expect(refusedElsewhere.code).toBe(Code.PermissionDenied);
      expect(refusedElsewhere.message).toMatch(/lost laptop/);
      // Static tokens are denied alike, by principal id.
      await identity(second, carol.access_token).denyPrincipal({ principal: "amir", reason: "moved on" });
      const teammateRefused = await waitFor(() => failure(first.as("teammate").resources.listResources({})), {
        what: "the first replica to refuse amir's static token",
        timeoutMs: 10_000,
      });
      expect(teammateRefused.code).toBe(Code.PermissionDenied);
      await identity(second, carol.access_token).allowPrincipal({ principal: "alice" });
      expect((await identity(second, alice.access_token).whoAmI({})).id).toBe("alice");
      const allowedElsewhere = await waitFor(() => identity(first, alice.access_token).whoAmI({}), {
        what: "the first replica to let alice in again",
        timeoutMs: 10_000,
      });
      expect(allowedElsewhere.id).toBe("alice");
    },
  );
});
