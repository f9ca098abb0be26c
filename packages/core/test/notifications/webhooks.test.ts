import { Code } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { DeliveryStatus, NotificationFormat, NotificationKind } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { createPlinthClient } from "@plinth/sdk";
import { freePort, waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it } from "vitest";
import { failure, watchToEnd } from "../support/connect-helpers.ts";
import type { EnginePreview } from "../../src/index.ts";
import { createSecretBox } from "../../src/secrets/secret-box.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, principals, startTestService } from "../support/test-service.ts";
import { type ReceivedWebhook, WebhookReceiver, eventData, signatureVerifies } from "../support/webhook-receiver.ts";

const secret = "webhook-secret-0123456789";
const fastDelivery = { pollMs: 25, timeoutMs: 2_000, retryBaseMs: 20, retryMaxMs: 100 };
const open: { close(): Promise<unknown> }[] = [];

async function receiver(): Promise<WebhookReceiver> {
  const made = await new WebhookReceiver(await freePort()).start();
  open.push({ close: () => made.stop() });
  return made;
}

async function service(
  notifications: Record<string, unknown>,
  more: Parameters<typeof startTestService>[0] = {},
): Promise<TestService> {
  const made = await startTestService({
    ...more,
    // The receivers listen on loopback, which webhooks may only reach when the operator allows it.
    config: {
      ...more.config,
      notifications: { delivery: fastDelivery, allowedTargets: ["127.0.0.1"], ...notifications },
    },
  });
  open.push(made);
  return made;
}

/** Waits until `count` requests for `path` that satisfy `which` have arrived; returns them. */
async function received(
  hooks: WebhookReceiver,
  path: string,
  count: number,
  which: (r: ReceivedWebhook) => boolean = () => true,
) {
  return await waitFor(
    async () => {
      const got = hooks.at(path).filter(which);
      if (got.length < count) throw new Error(`${got.length} of ${count} webhooks on ${path}`);
      return got;
    },
    { what: `webhooks on ${path}`, timeoutMs: 20_000 },
  );
}

const ofChange = (id: string) => (r: ReceivedWebhook) => eventData(r).change?.id === id;

afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

describe("webhook notifications", () => {
  it("sends signed CloudEvents 1.0 for a change's transitions, and shows their delivery to the owner team only", async () => {
    const hooks = await receiver();
    const plinth = await service({
      subscriptions: [{ id: "payments-all", url: hooks.url("/all"), secret, ownerTeam: "payments" }],
    });
    const { change } = await plinth.as("requester").resources.applyResource({
      type: "test.widget",
      name: "signed",
      spec: { size: 1 },
    });
    expect((await watchToEnd(plinth.as("requester"), change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    const events = await received(hooks, "/all", 2);
    for (const event of events) {
      expect(signatureVerifies(secret, event)).toBe(true);
      // The signature covers the body: one byte changed and it no longer verifies.
      expect(signatureVerifies(secret, { ...event, body: event.body.replace("signed", "signeD") })).toBe(false);
      expect(signatureVerifies("another-secret-0123456", event)).toBe(false);
      expect(event.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
      expect(event.json).toMatchObject({
        specversion: "1.0",
        source: "/plinth",
        subject: "test.widget/signed",
        datacontenttype: "application/json",
      });
      expect(event.headers["plinth-event-id"]).toBe(event.json.id);
      expect(eventData(event).url).toBe(`${plinth.url}/changes/${change!.id}`);
    }
    expect(events.map((e) => e.json.type)).toEqual(["dev.plinth.change.submitted", "dev.plinth.change.succeeded"]);
    expect(eventData(events[1]!).change).toMatchObject({ id: change!.id, status: "SUCCEEDED" });

    // Alice's team owns the subscription: she sees both deliveries, acknowledged on the first attempt.
    await waitFor(
      async () => {
        const { deliveries } = await plinth.as("requester").notifications.listDeliveries({ changeId: change!.id });
        expect(deliveries.map((d) => d.status)).toEqual([DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]);
        expect(deliveries.map((d) => d.kind)).toEqual([NotificationKind.SUBMITTED, NotificationKind.SUCCEEDED]);
        expect(deliveries.map((d) => d.eventId)).toEqual(events.map((e) => e.json.id));
        expect(deliveries[0]!.attemptLog).toMatchObject([{ attempt: 1, statusCode: 204, error: "" }]);
      },
      { what: "deliveries recorded", timeoutMs: 10_000 },
    );
    // Another team sees none of them; an admin sees all.
    expect((await plinth.as("outsider").notifications.listDeliveries({ changeId: change!.id })).deliveries).toEqual([]);
    expect((await plinth.as("admin").notifications.listDeliveries({ changeId: change!.id })).deliveries).toHaveLength(
      2,
    );
  });

  it("retries a refused delivery with backoff until 2xx, every copy with the same event id and body", async () => {
    const hooks = await receiver();
    const answered = new Map<string, number>();
    // Each event is refused twice (503) before it is taken.
    hooks.answer = (request) => {
      const id = String(request.json.id);
      const seen = (answered.get(id) ?? 0) + 1;
      answered.set(id, seen);
      return seen <= 2 ? 503 : 200;
    };
    const plinth = await service({
      subscriptions: [{ id: "flaky", url: hooks.url("/flaky"), secret, ownerTeam: "payments", kinds: ["submitted"] }],
    });
    const { change } = await plinth.as("requester").resources.applyResource({
      type: "test.widget",
      name: "flaky",
      spec: { size: 2 },
    });
    const copies = await received(hooks, "/flaky", 3);
    expect(new Set(copies.map((c) => c.json.id)).size).toBe(1);
    expect(new Set(copies.map((c) => c.body)).size).toBe(1);
    expect(copies.map((c) => c.headers["plinth-delivery-attempt"])).toEqual(["1", "2", "3"]);
    for (const copy of copies) expect(signatureVerifies(secret, copy)).toBe(true);
    await waitFor(
      async () => {
        const [delivery] = (await plinth.as("requester").notifications.listDeliveries({ changeId: change!.id }))
          .deliveries;
        expect(delivery).toMatchObject({ status: DeliveryStatus.DELIVERED, attempts: 3, lastStatusCode: 200 });
        expect(delivery!.attemptLog.map((a) => [a.statusCode, a.error])).toEqual([
          [503, "the receiver answered HTTP 503"],
          [503, "the receiver answered HTTP 503"],
          [200, ""],
        ]);
      },
      { what: "three attempts recorded", timeoutMs: 10_000 },
    );
    // The attempts are counted by outcome, and the outbox is empty again.
    const metrics = await (await fetch(`${plinth.url}/metrics`)).text();
    expect(metrics).toMatch(/^plinth_webhook_delivery_attempts_total\{outcome="failed"\} 2$/m);
    expect(metrics).toMatch(/^plinth_webhook_delivery_attempts_total\{outcome="delivered"\} 1$/m);
    expect(metrics).toMatch(/^plinth_outbox_pending 0$/m);
  });

  it("lets a team subscribe through the API, in Slack's format, filtered by kind and type", async () => {
    const hooks = await receiver();
    const plinth = await service({});
    const alice = plinth.as("requester");
    const { subscription } = await alice.notifications.createSubscription({
      url: hooks.url("/slack"),
      format: NotificationFormat.SLACK,
      filter: { types: ["test.widget"], kinds: [NotificationKind.SUCCEEDED] },
    });
    expect(subscription).toMatchObject({ ownerTeam: "payments", createdBy: "alice", signed: false, fromConfig: false });
    const { change } = await alice.resources.applyResource({ type: "test.widget", name: "chatty", spec: { size: 3 } });
    const [message] = await received(hooks, "/slack", 1);
    expect(message!.json).toEqual({
      text: `CREATE of test.widget "chatty" (change ${change!.id}) succeeded. <${plinth.url}/changes/${change!.id}|open in the Plinth console>`,
    });
    // Only the kind asked for: the submission was not sent.
    expect(hooks.at("/slack")).toHaveLength(1);

    expect((await alice.notifications.listSubscriptions({})).subscriptions.map((s) => s.id)).toEqual([
      subscription!.id,
    ]);
    expect((await plinth.as("outsider").notifications.listSubscriptions({})).subscriptions).toEqual([]);
    expect((await failure(plinth.as("outsider").notifications.deleteSubscription({ id: subscription!.id }))).code).toBe(
      Code.PermissionDenied,
    );
    await plinth.as("teammate").notifications.deleteSubscription({ id: subscription!.id });
    expect((await alice.notifications.listSubscriptions({})).subscriptions).toEqual([]);
  });

  it("calls back about one change only, when ApplyResource asks for it", async () => {
    const hooks = await receiver();
    const plinth = await service({});
    const alice = plinth.as("requester");
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "orchestrated",
      spec: { size: 60 },
      callback: { url: hooks.url("/callback"), secret },
    });
    // Another change, without a callback, must not reach it.
    await alice.resources.applyResource({ type: "test.widget", name: "unrelated", spec: { size: 1 } });
    await received(hooks, "/callback", 2);
    await plinth.as("reviewer").changes.approveChange({ id: change!.id, comment: "ok" });
    expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const calls = await received(hooks, "/callback", 4);
    expect(calls.map((c) => eventData(c).kind)).toEqual(["SUBMITTED", "PENDING_REVIEW", "APPROVED", "SUCCEEDED"]);
    expect(calls.every((c) => eventData(c).change?.id === change!.id)).toBe(true);
    for (const call of calls) expect(signatureVerifies(secret, call)).toBe(true);
    // The callback is a subscription of the caller's team, tied to the change: it ends with the change
    // once its last event is delivered, and what was sent stays visible.
    await waitFor(async () => expect((await alice.notifications.listSubscriptions({})).subscriptions).toEqual([]), {
      what: "the callback to end with its change",
      timeoutMs: 20_000,
    });
    const { deliveries } = await alice.notifications.listDeliveries({ changeId: change!.id });
    expect(deliveries.map((d) => d.status)).toEqual(Array(4).fill(DeliveryStatus.DELIVERED));
  });

  it("tells a callback given to client.apply that its change was cancelled (issue 29)", async () => {
    const hooks = await receiver();
    const plinth = await service({});
    const sdk = createPlinthClient({ baseUrl: plinth.url, token: principals.requester.token });
    // Over 50 the widget needs a reviewer, so the change can still be cancelled.
    const { change } = await sdk.apply(
      "test.widget",
      "called-off",
      { size: 60 },
      { callback: { url: hooks.url("/sdk-callback"), secret } },
    );
    expect((await sdk.notifications.listSubscriptions({})).subscriptions).toMatchObject([
      { changeId: change!.id, signed: true },
    ]);
    await sdk.changes.cancelChange({ id: change!.id, comment: "not needed after all" });
    const calls = await received(hooks, "/sdk-callback", 3);
    expect(calls.map((c) => eventData(c).kind)).toEqual(["SUBMITTED", "PENDING_REVIEW", "CANCELLED"]);
    expect(calls[2]?.json).toMatchObject({ type: "dev.plinth.change.cancelled" });
    expect(eventData(calls[2]!).change).toMatchObject({ id: change!.id, status: "CANCELLED" });
    for (const call of calls) expect(signatureVerifies(secret, call)).toBe(true);
    await waitFor(async () => expect((await sdk.notifications.listSubscriptions({})).subscriptions).toEqual([]), {
      what: "the callback to end with its change",
      timeoutMs: 20_000,
    });
  });

  it("reminds reviewers of a change still pending review, then escalates it, at the configured times", async () => {
    const hooks = await receiver();
    const plinth = await service({
      review: { remindAfterMs: 600, escalateAfterMs: 1_500 },
      subscriptions: [
        { id: "reviewers", url: hooks.url("/reviewers"), kinds: ["pending_review"], ownerTeam: "platform" },
        { id: "on-call", url: hooks.url("/on-call"), kinds: ["review_escalated"], ownerTeam: "platform" },
      ],
    });
    const alice = plinth.as("requester");
    // Approved at once: its timers must come to nothing.
    const { change: decided } = await alice.resources.applyResource({
      type: "test.widget",
      name: "decided",
      spec: { size: 70 },
    });
    await plinth.as("reviewer").changes.approveChange({ id: decided!.id, comment: "fine" });
    const submittedAt = Date.now();
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "waiting",
      spec: { size: 80 },
    });

    const [announced, reminder] = await received(hooks, "/reviewers", 2, ofChange(change!.id));
    const [escalation] = await received(hooks, "/on-call", 1, ofChange(change!.id));
    expect(eventData(announced!)).toMatchObject({ kind: "PENDING_REVIEW" });
    expect(eventData(reminder!)).toMatchObject({ kind: "PENDING_REVIEW", reminder: true });
    expect(eventData(reminder!).message).toMatch(/^reminder: .* is still pending review/);
    expect(eventData(escalation!)).toMatchObject({ kind: "REVIEW_ESCALATED", escalation: true });
    expect(escalation!.json.type).toBe("dev.plinth.change.review_escalated");
    // Not before their times (the upper bound is the machine's load, not asserted).
    expect(reminder!.at - submittedAt).toBeGreaterThanOrEqual(600);
    expect(escalation!.at - submittedAt).toBeGreaterThanOrEqual(1_500);
    expect(new Set([announced, reminder].map((r) => r!.json.id)).size).toBe(2);

    // The decided change's timers were due first, so they were handled by now: nothing was sent for it.
    const forDecided = (await plinth.as("admin").notifications.listDeliveries({ changeId: decided!.id })).deliveries;
    expect(forDecided.map((d) => d.kind)).toEqual([NotificationKind.PENDING_REVIEW]);
  });

  it("announces drift and secret reveals to the owning team's subscription, never a secret value", async () => {
    const hooks = await receiver();
    // What the fake "real system" holds, per widget: the size it really has (as in the drift test).
    const reality = new Map<string, number>();
    const plinth = await service(
      {
        subscriptions: [
          {
            id: "payments-watch",
            url: hooks.url("/watch"),
            kinds: ["drift_detected", "secret_revealed"],
            teams: ["payments"],
          },
        ],
      },
      {
        config: { reconcile: { intervalMs: 50 } },
        engine: createFakeEngine({
          apply: async (request) => {
            reality.set(request.name, Number(request.resolvedSpec.size));
            return { outputs: {}, secretOutputs: { serial: `sn-${request.name}` } };
          },
          preview: async (request): Promise<EnginePreview> => {
            const real = reality.get(request.name);
            const differs = request.refresh && real !== undefined && real !== request.resolvedSpec.size;
            return { steps: differs ? { update: 1 } : { same: 1 }, destructive: false, details: {} };
          },
        }),
      },
    );
    const alice = plinth.as("requester");
    const { change } = await alice.resources.applyResource({ type: "test.widget", name: "watched", spec: { size: 5 } });
    await watchToEnd(alice, change!.id);
    await alice.resources.revealSecret({ type: "test.widget", name: "watched", key: "serial" });
    reality.set("watched", 9); // someone changed it by hand
    const [revealed, drifted] = await received(hooks, "/watch", 2);
    expect(eventData(revealed!)).toMatchObject({
      kind: "SECRET_REVEALED",
      revealedBy: "alice",
      key: "serial",
      change: null,
    });
    expect(revealed!.body).not.toContain("sn-watched");
    expect(drifted!.json).toMatchObject({ type: "dev.plinth.resource.drift_detected", subject: "test.widget/watched" });
    expect(eventData(drifted!)).toMatchObject({
      kind: "DRIFT_DETECTED",
      url: `${plinth.url}/resources/test.widget/watched`,
    });
    expect(String(eventData(drifted!).findings)).toContain("update 1");
  });

  it("sends the other deliveries while one subscription's sealed secret does not open", async () => {
    const hooks = await receiver();
    const plinth = await service({
      subscriptions: [
        { id: "payments-succeeded", url: hooks.url("/open"), ownerTeam: "payments", kinds: ["succeeded"] },
      ],
    });
    // A row sealed under a key this server never had (a server started with the wrong key is refused at start,
    // so such a row can only come from outside, e.g. a restore mixed with a rotation).
    const subscription = {
      id: "locked-subscription",
      ownerTeam: "payments",
      createdBy: principals.requester.id,
      url: hooks.url("/locked"),
      format: "cloudevents" as const,
      sealedSecret: createSecretBox("a-key-this-server-never-had-0123").seal({ secret }),
      teams: [],
      types: [],
      kinds: [],
      changeId: null,
      createdAt: new Date().toISOString(),
    };
    await plinth.store.transact(async (tx) => await tx.insertSubscription(subscription));
    const alice = plinth.as("requester");
    for (const name of ["first", "second"]) {
      const { change } = await alice.resources.applyResource({ type: "test.widget", name, spec: { size: 1 } });
      expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    }
    // The locked subscription's deliveries are older (each change's submission comes before its success) and so
    // come first in every round: the open subscription's must get through all the same.
    await received(hooks, "/open", 2);
    expect(hooks.at("/locked")).toEqual([]);
    const { deliveries } = await alice.notifications.listDeliveries({ subscriptionId: subscription.id });
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.status !== DeliveryStatus.DELIVERED)).toBe(true);
  });

  it("refuses bad subscriptions and callbacks with every field at once, writing nothing", async () => {
    const plinth = await service({});
    const alice = plinth.as("requester");
    const bad = await failure(
      alice.notifications.createSubscription({ url: "ftp://x", secret: "short", filter: { teams: [" "] } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fields).toEqual(["url", "secret", "filter.teams[0]"]);
    const badCallback = await failure(
      alice.resources.applyResource({
        type: "test.widget",
        name: "Bad Name",
        spec: { size: 1 },
        callback: { url: "not a url", secret: "short" },
      }),
    );
    expect(badCallback.code).toBe(Code.InvalidArgument);
    expect(badCallback.fields).toEqual(["callback.url", "callback.secret", "name"]);
    expect((await alice.notifications.listSubscriptions({})).subscriptions).toEqual([]);
    expect((await failure(alice.notifications.listDeliveries({}))).fields).toEqual(["change_id", "subscription_id"]);
    expect((await failure(plinth.as("admin").notifications.deleteSubscription({ id: "config:anything" }))).code).toBe(
      Code.FailedPrecondition,
    );
  });

  it("refuses subscriptions and callbacks to loopback, link-local, private and rebinding targets, at create and at send", async () => {
    const hooks = await receiver();
    // Names resolve through this table, never real DNS. "rebind" answers a public address the first
    // time (when the subscription is made) and loopback afterwards (when it is sent), as a DNS
    // rebinding attacker would.
    let rebindAsked = 0;
    const resolveHost = async (name: string) => {
      if (name === "loopback.example.test") return [{ address: "127.0.0.1", family: 4 }];
      if (name === "rebind.example.test") {
        rebindAsked++;
        return [{ address: rebindAsked === 1 ? "203.0.113.7" : "127.0.0.1", family: 4 }];
      }
      throw Object.assign(new Error(`${name} is not in the test resolver`), { code: "ENOTFOUND" });
    };
    // Without the allowlist; no worker and no delivery loop here, so whatever is wrongly accepted is never sent.
    const refusing = await service({ allowedTargets: [] }, { resolveHost, worker: false });
    const alice = refusing.as("requester");
    const port = hooks.port;
    const forbidden = [
      `http://127.0.0.1:${port}/hook`,
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.1/hook",
      `http://loopback.example.test:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
      `http://[::1]:${port}/hook`,
      "http://0x7f000001/hook",
      "http://100.64.0.1/hook",
      "https://192.168.1.1/hook",
      "http://[fd00::1]/hook",
    ];
    const wronglyAccepted: string[] = [];
    for (const url of forbidden) {
      // A filter no event of this test matches.
      const made = alice.notifications.createSubscription({ url, filter: { types: ["no.such.type"] } });
      const refused = await made.then(
        async ({ subscription }) => {
          wronglyAccepted.push(url);
          await alice.notifications.deleteSubscription({ id: subscription!.id });
          return undefined;
        },
        (error: unknown) => error,
      );
      if (refused) {
        const error = await failure(Promise.reject(refused as Error));
        expect(error.code, url).toBe(Code.InvalidArgument);
        expect(error.fields, url).toEqual(["url"]);
      }
      const callback = await alice.resources
        .applyResource({ type: "test.widget", name: "never-sent", spec: { size: 1 }, callback: { url } })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      if (!callback) wronglyAccepted.push(`callback ${url}`);
      else expect((await failure(Promise.reject(callback as Error))).fields, url).toEqual(["callback.url"]);
    }
    expect(wronglyAccepted).toEqual([]);
    expect((await alice.notifications.listSubscriptions({})).subscriptions).toEqual([]);

    // At send time: the name resolved to a public address when the callback was made, to loopback now.
    const plinth = await service({ allowedTargets: [] }, { resolveHost });
    const { change } = await plinth.as("requester").resources.applyResource({
      type: "test.widget",
      name: "rebound",
      spec: { size: 1 },
      callback: { url: `http://rebind.example.test:${port}/rebound` },
    });
    await watchToEnd(plinth.as("requester"), change!.id);
    await waitFor(
      async () => {
        const { deliveries } = await plinth.as("admin").notifications.listDeliveries({ changeId: change!.id });
        expect(deliveries.length).toBeGreaterThan(0);
        for (const d of deliveries) expect(d.lastError).toMatch(/^refused to send: rebind.example.test resolves to/);
      },
      { what: "deliveries refused at send time", timeoutMs: 10_000 },
    );
    expect(hooks.received).toEqual([]);
  });

  it("lets a team subscribe to its own events only, and shows webhook URLs and network errors to admins only", async () => {
    const hooks = await receiver();
    const plinth = await service({});
    const alice = plinth.as("requester");
    const refused = await failure(
      alice.notifications.createSubscription({ url: hooks.url("/spy"), filter: { teams: ["payments", "search"] } }),
    );
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(refused.message).toContain("search");
    const { subscription: everything } = await plinth.as("admin").notifications.createSubscription({
      url: hooks.url("/admin"),
      filter: { teams: ["search"], kinds: [NotificationKind.SUBMITTED] },
    });
    await plinth.as("admin").notifications.deleteSubscription({ id: everything!.id });

    // No team filter: the caller's own team, not every team.
    await alice.notifications.createSubscription({
      url: hooks.url("/mine?token=credential"),
      filter: { kinds: [NotificationKind.SUBMITTED] },
    });
    const { change: theirs } = await plinth
      .as("outsider")
      .resources.applyResource({ type: "test.widget", name: "theirs", spec: { size: 1 } });
    const { change: ours } = await alice.resources.applyResource({
      type: "test.widget",
      name: "ours",
      spec: { size: 1 },
    });
    await received(hooks, "/mine?token=credential", 1, ofChange(ours!.id));
    // Their submission came first, so it would have been sent by now.
    expect(hooks.received.filter(ofChange(theirs!.id))).toEqual([]);

    const [mine] = (await alice.notifications.listSubscriptions({})).subscriptions;
    expect(mine!.url).toBe(`http://127.0.0.1:${hooks.port}/…`);
    const [whole] = (await plinth.as("admin").notifications.listSubscriptions({})).subscriptions;
    expect(whole!.url).toBe(hooks.url("/mine?token=credential"));

    // A callback to a closed loopback port: the requester learns that it failed, an admin why.
    const closed = await freePort();
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "unreachable",
      spec: { size: 1 },
      callback: { url: `http://127.0.0.1:${closed}/gone` },
    });
    await waitFor(
      async () => {
        const { deliveries } = await alice.notifications.listDeliveries({ changeId: change!.id });
        // The team's standing subscription got its copy; the callback's is the one that failed.
        const delivery = deliveries.find((d) => d.subscriptionId !== mine!.id);
        expect(delivery?.lastError).toBe("delivery failed (an admin sees why)");
        expect(delivery?.attemptLog[0]?.error).toBe("delivery failed (an admin sees why)");
      },
      { what: "a failed attempt", timeoutMs: 10_000 },
    );
    const seen = (await plinth.as("admin").notifications.listDeliveries({ changeId: change!.id })).deliveries.find(
      (d) => d.subscriptionId !== mine!.id,
    );
    expect(seen!.lastError).toBe("could not reach the receiver (ECONNREFUSED)");
  });

  it("escapes &, < and > in Slack text, so a message cannot mention the channel or disguise a link", async () => {
    const hooks = await receiver();
    const plinth = await service(
      { subscriptions: [{ id: "slack", url: hooks.url("/slack"), format: "slack", kinds: ["failed"] }] },
      {
        engine: createFakeEngine({
          apply: async () => {
            throw new Error("<!channel> read <https://evil.example|the runbook> & act");
          },
        }),
      },
    );
    await plinth.as("requester").resources.applyResource({ type: "test.widget", name: "loud", spec: { size: 1 } });
    const [message] = await received(hooks, "/slack", 1);
    const text = String(message!.json.text);
    expect(text).toContain("&lt;!channel&gt; read &lt;https://evil.example|the runbook&gt; &amp; act");
    expect(text).not.toContain("<!channel>");
    // The console link stays a link.
    expect(text).toMatch(/ <http:\/\/127\.0\.0\.1:\d+\/changes\/[^|>]+\|open in the Plinth console>$/);
  });
});
