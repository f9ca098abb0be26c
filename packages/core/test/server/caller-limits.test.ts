import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { NotificationKind } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { freePort } from "@plinth/testing";
import { afterEach, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

const services: TestService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

async function start(config: Record<string, unknown>): Promise<TestService> {
  const service = await startTestService({ config });
  services.push(service);
  return service;
}

describe("what one caller may ask at once", { timeout: 120_000 }, () => {
  it("caps a team's subscriptions, saying the limit", async () => {
    // Loopback (allowed here) on a port nobody listens on, with a filter no event matches: nothing is ever sent.
    const url = `http://127.0.0.1:${await freePort()}/never`;
    const plinth = await start({ notifications: { allowedTargets: ["127.0.0.1"], maxSubscriptionsPerTeam: 2 } });
    const filter = { types: ["no.such.type"], kinds: [NotificationKind.SUCCEEDED] };
    for (let i = 0; i < 2; i++) await plinth.as("requester").notifications.createSubscription({ url, filter });
    const refused = await failure(plinth.as("teammate").notifications.createSubscription({ url, filter }));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.message).toContain("notifications.maxSubscriptionsPerTeam) is 2");
    // Another team has its own count; a per-change callback is not a standing subscription.
    await plinth.as("outsider").notifications.createSubscription({ url, filter });
    const { subscriptions } = await plinth.as("requester").notifications.listSubscriptions({});
    expect(subscriptions).toHaveLength(2);
    await plinth.as("requester").notifications.deleteSubscription({ id: subscriptions[0]!.id });
    await plinth.as("teammate").notifications.createSubscription({ url, filter });
  });

  it("caps the WatchChange streams one principal holds open", async () => {
    const plinth = await start({ limits: { maxWatchesPerPrincipal: 2 } });
    const alice = plinth.as("requester");
    // A change that waits for a reviewer: its watches stay open.
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "watched",
      spec: { size: 60 },
    });
    const opened = [new AbortController(), new AbortController()];
    const watches = opened.map((controller) =>
      alice.changes.watchChange({ id: change!.id }, { signal: controller.signal }),
    );
    // Each has answered once, so each is open on the server.
    const iterators = watches.map((watch) => watch[Symbol.asyncIterator]());
    for (const iterator of iterators) await iterator.next();
    const third = await failure(
      (async () => {
        for await (const _update of alice.changes.watchChange({ id: change!.id })) break;
      })(),
    );
    expect(third.code).toBe(Code.ResourceExhausted);
    expect(third.message).toContain("limits.maxWatchesPerPrincipal");
    // Per principal: a teammate may still watch.
    const teammate = new AbortController();
    const theirs = plinth.as("teammate").changes.watchChange({ id: change!.id }, { signal: teammate.signal });
    await theirs[Symbol.asyncIterator]().next();
    teammate.abort();
    // Closing one makes room again; the change ends and the watch with it.
    opened[0]!.abort();
    await iterators[0]!.next().catch(() => undefined);
    await plinth.as("reviewer").changes.approveChange({ id: change!.id, comment: "ok" });
    await expect
      .poll(async () => (await watchToEnd(alice, change!.id).catch(() => undefined))?.change.status, {
        timeout: 20_000,
      })
      .toBe(ChangeStatus.SUCCEEDED);
    opened[1]!.abort();
  });

  it("bounds the reads of one PreviewResource and one ListAccessGrants call, saying the limit", async () => {
    const plinth = await start({
      limits: { maxReadsPerCall: 12 },
      plugins: [{ module: join(import.meta.dirname, "../support/owned-plugin.ts"), export: "ownedPlugin" }],
    });
    const spec = (team: string, reads: string[] = []) => ({ owner: { team, contact: `#${team}` }, reads });
    const make = async (who: "requester" | "outsider", name: string, team: string) => {
      const { change } = await plinth.as(who).resources.applyResource({ type: "test.owned", name, spec: spec(team) });
      expect((await watchToEnd(plinth.as(who), change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    };
    await make("requester", "p1", "payments");
    await make("outsider", "s1", "search");
    const preview = () =>
      plinth
        .as("requester")
        .resources.previewResource({ type: "test.owned", name: "p9", spec: spec("payments", ["s1"]) });
    // Small enough: both answer.
    expect((await preview()).reviewReasons.length).toBeGreaterThan(0);
    await plinth.as("requester").resources.listAccessGrants({});

    for (const [who, name, team] of [
      ["requester", "p2", "payments"],
      ["requester", "p3", "payments"],
      ["outsider", "s2", "search"],
      ["outsider", "s3", "search"],
      ["outsider", "s4", "search"],
      ["outsider", "s5", "search"],
    ] as const) {
      await make(who, name, team);
    }
    const refusedPreview = await failure(preview());
    expect(refusedPreview.code).toBe(Code.ResourceExhausted);
    expect(refusedPreview.message).toContain("more than 12 resources and changes (limits.maxReadsPerCall)");
    const refusedList = await failure(plinth.as("requester").resources.listAccessGrants({}));
    expect(refusedList.code).toBe(Code.ResourceExhausted);
    expect(refusedList.message).toContain("limits.maxReadsPerCall");
  });
});
