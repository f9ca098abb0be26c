import { join } from "node:path";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { PlanAction } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { type PostgresServer, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { freshDatabase } from "../support/fresh-database.ts";
import {
  type Clients,
  type TestService,
  clientsFor,
  principalsConfig,
  startTestService,
} from "../support/test-service.ts";

// payments holds grants on what search owns; each team has a requester and a reviewer; platform reviews for all.
// The sequences of issue 22's must-show list that involve a grant run against the real broker, in
// plugin-kafka's cross-team-access.test.ts; these are the rules of who reviews and who consents.
const people = {
  alice: { id: "alice", team: "payments", roles: ["requester"] as const, token: "token-alice" },
  pia: { id: "pia", team: "payments", roles: ["reviewer"] as const, token: "token-pia" },
  olga: { id: "olga", team: "search", roles: ["requester"] as const, token: "token-olga" },
  sam: { id: "sam", team: "search", roles: ["reviewer"] as const, token: "token-sam" },
  rita: { id: "rita", team: "platform", roles: ["reviewer"] as const, token: "token-rita" },
  ada: { id: "ada", team: "platform", roles: ["admin"] as const, token: "token-ada" },
};

// Issue 22: a verdict belongs to the transition that is applied, and every path to a grant asks its owner.
describe.each(["sqlite", "postgres"] as const)("review cannot be bypassed on %s (issue 22)", (store) => {
  let service: TestService;
  let postgres: PostgresServer | undefined;
  const as = (who: keyof typeof people): Clients => clientsFor(service.url, people[who].token);
  beforeAll(async () => {
    if (store === "postgres") postgres = await startPostgres();
    service = await startTestService({
      engine: createFakeEngine({
        apply: async (request) => ({
          outputs: { name: request.name },
          secretOutputs: { serial: `sn-${request.name}` },
        }),
      }),
      config: {
        plugins: [{ module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" }],
        principals: principalsConfig(people),
        // Every update is reviewed, so that the reviewer rules apply to it.
        review: { approvals: { CREATE: 0, UPDATE: 1, DELETE: 1 } },
        ...(postgres ? { store: { postgres: { url: await freshDatabase(postgres, "bypass") } } } : {}),
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    await postgres?.stop();
  });

  const spec = (team: string, extra: JsonObject = {}): JsonObject => ({
    owner: { team, contact: `#${team}` },
    ...extra,
  });
  const apply = (who: Clients, name: string, body: JsonObject) =>
    who.resources.applyResource({ type: "test.owned", name, spec: body, requestId: `${name}-${Math.random()}` });

  it("lets a reviewer review only its own team's changes and those asking its team, platform's and admins' excepted", async () => {
    const created = await apply(as("alice"), "payments-scoped", spec("payments"));
    expect((await watchToEnd(as("alice"), created.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // An update of payments' own resource, reviewed: search has no say in it, either way.
    const own = (await apply(as("alice"), "payments-scoped", spec("payments", { note: "v2" }))).change!;
    expect(own.status).toBe(ChangeStatus.PENDING_REVIEW);
    // Thunks, not promises: a second call started before the first is awaited would reject unhandled.
    for (const refused of [
      () => as("sam").changes.approveChange({ id: own.id, comment: "waved through by search" }),
      () => as("sam").changes.rejectChange({ id: own.id, comment: "blocked by search" }),
    ]) {
      const error = await failure(refused());
      expect(error).toMatchObject({ code: Code.PermissionDenied });
      expect(error.message).toContain("only a reviewer of payments, of platform (platform teams) or an admin");
    }
    expect((await as("ada").changes.getChange({ id: own.id })).change?.reviews).toEqual([]);
    await as("pia").changes.approveChange({ id: own.id, comment: "payments agrees" });
    expect((await watchToEnd(as("alice"), own.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    // A configured platform team reviews any team's change; a change asking search for access is search's to refuse.
    const byPlatform = (await apply(as("alice"), "payments-scoped", spec("payments", { note: "v3" }))).change!;
    await as("rita").changes.approveChange({ id: byPlatform.id, comment: "platform reviews for all" });
    expect((await watchToEnd(as("alice"), byPlatform.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const index = await apply(as("olga"), "search-scoped", spec("search"));
    expect((await watchToEnd(as("olga"), index.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const asking = (await apply(as("alice"), "payments-scoped", spec("payments", { reads: ["search-scoped"] })))
      .change!;
    expect(asking.accessRequests.map((request) => request.ownerTeam)).toEqual(["search"]);
    const refusedBySearch = await as("sam").changes.rejectChange({ id: asking.id, comment: "not our data to share" });
    expect(refusedBySearch.change?.status).toBe(ChangeStatus.REJECTED);
  });

  it("plans, submits and reviews a change set member by member: no way around a team's consent, applied in order", async () => {
    const created = [
      await apply(as("olga"), "set-target", spec("search")),
      await apply(as("alice"), "set-old", spec("payments")),
      await apply(as("alice"), "set-same", spec("payments")),
    ];
    for (const { change } of created)
      expect((await watchToEnd(as("ada"), change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const owned = { type: "test.owned", labels: {} };
    // Bad input of every entry comes back at once, each under its entry's path; nothing is planned.
    const bad = await failure(
      as("alice").changeSets.planChangeSet({
        entries: [
          { ...owned, name: "bad name!", spec: spec("payments") },
          { ...owned, name: "set-typo", spec: { owner: { team: "payments" } } },
          { ...owned, name: "set-typo", spec: spec("payments") },
        ],
      }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fields).toEqual(["entries[0].name", "entries[1].spec.owner.contact", "entries[2]"]);
    // A reader of search's resource (it asks search) and a deletion (a risk): who must approve what.
    const entries = [
      { ...owned, name: "set-reader", spec: spec("payments", { reads: ["set-target"] }) },
      { ...owned, name: "set-old", delete: true },
      { ...owned, name: "set-same", spec: spec("payments") },
    ];
    const plan = await as("alice").changeSets.planChangeSet({ entries });
    expect(plan.planId).not.toBe("");
    expect(plan.changes.map((c) => [c.name, PlanAction[c.action], c.risks, c.approvingTeams])).toEqual([
      ["set-reader", "CREATE", [], ["search"]],
      ["set-old", "DELETE", ["deletion"], ["payments"]],
      ["set-same", "NO_OP", [], []],
    ]);
    // search planning payments' resource: the plan says why per entry, and has no id to submit.
    const foreign = await as("olga").changeSets.planChangeSet({
      entries: [{ ...owned, name: "set-same", spec: spec("search") }],
    });
    expect([foreign.planId, foreign.changes[0]!.refusal]).toEqual([
      "",
      expect.stringContaining("belongs to team payments"),
    ]);
    // The plan is its planner's teams' (and admins'): to search it does not exist.
    expect(
      (await failure(as("olga").changeSets.submitChangeSet({ planId: plan.planId, requestId: "set-by-search" }))).code,
    ).toBe(Code.NotFound);
    // A resource that moved since the plan refuses the whole set, by name: nothing is submitted.
    const moved = (await apply(as("alice"), "set-old", spec("payments", { note: "moved" }))).change!;
    const stale = await failure(as("alice").changeSets.submitChangeSet({ planId: plan.planId, requestId: "set-1" }));
    expect(stale.code).toBe(Code.FailedPrecondition);
    expect(stale.message).toContain('test.owned "set-old"');
    expect((await as("ada").changes.listChanges({ name: "set-reader" })).changes).toEqual([]);
    await as("alice").changes.cancelChange({ id: moved.id, comment: "back to the plan's base" });

    const submitted = (
      await as("alice").changeSets.submitChangeSet({ planId: plan.planId, requestId: "set-1", comment: "folder" })
    ).changeSet!;
    const replayed = await as("alice").changeSets.submitChangeSet({
      planId: plan.planId,
      requestId: "set-1",
      comment: "folder",
    });
    expect(replayed).toMatchObject({ deduplicated: true, changeSet: { id: submitted.id } });
    expect(submitted.unchanged).toBe(1);
    const [reader, old] = submitted.members.map((m) => m.change!);
    expect([reader!.name, old!.name, reader!.changeSetId]).toEqual(["set-reader", "set-old", submitted.id]);
    expect(submitted.members.map((m) => m.waitingFor)).toEqual([["search"], ["payments"]]);

    // Nobody approves their own set; payments' reviewer approves both, yet the reader still waits for search.
    expect((await failure(as("alice").changeSets.approveChangeSet({ id: submitted.id, comment: "mine" }))).code).toBe(
      Code.PermissionDenied,
    );
    const byPayments = (await as("pia").changeSets.approveChangeSet({ id: submitted.id, comment: "ok" })).changeSet!;
    expect(byPayments.members.map((m) => [ChangeStatus[m.change!.status], m.waitingFor])).toEqual([
      ["PENDING_REVIEW", ["search"]],
      ["QUEUED", []],
    ]);
    // search's reviewer may approve only what asks search: the deletion is not theirs, and is not pending anyway.
    const bySearch = await as("sam").changeSets.approveChangeSet({ id: submitted.id, comment: "payments may read it" });
    expect(bySearch.skipped).toEqual([]);
    const readerDone = (await watchToEnd(as("alice"), reader!.id)).change;
    const oldDone = (await watchToEnd(as("alice"), old!.id)).change;
    expect([readerDone.status, oldDone.status]).toEqual([ChangeStatus.SUCCEEDED, ChangeStatus.SUCCEEDED]);
    // The deletion (a later order) was held until the reader succeeded, though it was approved first.
    const started = (await as("ada").changes.getChange({ id: old!.id })).events.find(
      (e) => e.status === ChangeStatus.APPLYING,
    )!;
    expect(timestampMs(started.time!)).toBeGreaterThanOrEqual(timestampMs(readerDone.finishTime!));

    // A set submitted from entries; rejecting it rejects every pending member. A second plan changes nothing.
    const again = await as("alice").changeSets.planChangeSet({ entries: entries.slice(0, 1) });
    expect(again.changes.map((c) => PlanAction[c.action])).toEqual(["NO_OP"]);
    const second = (
      await as("alice").changeSets.submitChangeSet({
        entries: [{ ...owned, name: "set-reader", spec: spec("payments", { note: "v2" }) }],
        requestId: "set-2",
      })
    ).changeSet!;
    const rejected = await as("pia").changeSets.rejectChangeSet({ id: second.id, comment: "not now" });
    expect(rejected.changeSet!.members.map((m) => m.change!.status)).toEqual([ChangeStatus.REJECTED]);
  });

  it("asks the teams a transferred resource's grants reach again: consent given to one team does not move", async () => {
    const owned = await apply(as("olga"), "search-index", spec("search"));
    expect((await watchToEnd(as("olga"), owned.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const asked = await apply(as("alice"), "payments-mover", spec("payments", { reads: ["search-index"] }));
    await as("sam").changes.approveChange({ id: asked.change!.id, comment: "payments may read the index" });
    expect((await watchToEnd(as("alice"), asked.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // payments hands it to platform: platform must accept, and search must agree that platform reads its index.
    const moved = await apply(as("alice"), "payments-mover", spec("platform", { reads: ["search-index"] }));
    expect(moved.change?.accessRequests.map((request) => [request.ownerTeam, request.requesterTeam])).toEqual([
      ["platform", "payments"],
      ["search", "platform"],
    ]);
    const accepted = await as("rita").changes.approveChange({ id: moved.change!.id, comment: "platform takes it" });
    expect(accepted.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await as("sam").changes.approveChange({ id: moved.change!.id, comment: "platform may read the index" });
    expect((await watchToEnd(as("alice"), moved.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
  });
});
