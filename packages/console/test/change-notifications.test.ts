import { ChangeStatus } from "@plinth/sdk";
import { type Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Delivery, DeliveryStatus } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { freePort, waitFor } from "../../testing/src/index.ts";
import { watchToEnd } from "../../core/test/support/connect-helpers.ts";
import type { EnginePreview } from "../../core/src/index.ts";
import { createFakeEngine } from "../../core/test/support/fake-engine.ts";
import { shortDuration } from "../src/applied-per-hour.ts";
import { type TestService, principals, startTestService } from "../../core/test/support/test-service.ts";
import { WebhookReceiver } from "../../core/test/support/webhook-receiver.ts";
import {
  accessibilityViolations,
  buildConsole,
  distDir,
  launchChromium,
  newPerson,
  screenshot,
  screenshotBothWidths,
  signIn,
} from "./support/browser.ts";

// A change's page lists the webhooks sent about it and how each went, to the subscription's owner team; the
// overview counts what needs a person, deliveries failing among them. The fake engine stands in for Pulumi
// (with a "real system" of its own that can drift); the receiver is a real HTTP server on loopback.
describe("a change's notifications and the overview in the console", { timeout: 200_000 }, () => {
  let service: TestService;
  let browser: Browser;
  let hooks: WebhookReceiver;
  let changeId: string;
  // What the fake engine's "real system" holds per widget (its size), so a hand edit is drift.
  const reality = new Map<string, number>();
  // Applying "flaky" fails once, then hangs until the test lets it go: a change being retried.
  let releaseFlaky = () => {};
  const flakyHeld = new Promise<void>((resolve) => (releaseFlaky = resolve));
  const tries = new Map<string, number>();
  beforeAll(async () => {
    buildConsole();
    hooks = await new WebhookReceiver(await freePort()).start();
    // The first try of every event is refused, so the page has an attempt count to show.
    const tried = new Set<string>();
    hooks.answer = (request) => {
      // The platform team's hook is broken: every delivery to it fails.
      if (request.path === "/broken") return 500;
      const id = String(request.json.id);
      if (tried.has(id)) return 204;
      tried.add(id);
      return 503;
    };
    service = await startTestService({
      engine: createFakeEngine({
        apply: async (request) => {
          const tried = (tries.get(request.name) ?? 0) + 1;
          tries.set(request.name, tried);
          if (request.name === "broken") throw new Error("the widget factory is on fire");
          if (request.name === "flaky") {
            if (tried === 1) throw new Error("the widget factory is busy");
            await flakyHeld;
          }
          reality.set(request.name, Number(request.resolvedSpec.size));
          return { outputs: { name: request.name }, secretOutputs: {} };
        },
        preview: async (request): Promise<EnginePreview> => {
          const real = reality.get(request.name);
          const steps: Record<string, number> =
            real === undefined
              ? { create: 1 }
              : request.refresh && real !== request.resolvedSpec.size
                ? { update: 1 }
                : { same: 1 };
          return { steps, destructive: false, details: {} };
        },
      }),
      config: {
        console: { dir: distDir },
        reconcile: { intervalMs: 200 },
        notifications: {
          delivery: { pollMs: 25, retryBaseMs: 20, retryMaxMs: 50 },
          // The receiver is on loopback, which webhooks reach only when allowed.
          allowedTargets: ["127.0.0.1"],
          subscriptions: [
            { id: "payments-hook", url: hooks.url(), ownerTeam: "payments", kinds: ["submitted", "succeeded"] },
            { id: "platform-hook", url: hooks.url("/broken"), ownerTeam: "platform", kinds: ["failed"] },
          ],
        },
      },
    });
    const alice = service.as("requester");
    const { change } = await alice.resources.applyResource({
      type: "test.widget",
      name: "announced",
      spec: { size: 4 },
    });
    changeId = change!.id;
    expect((await watchToEnd(alice, changeId)).change.status).toBe(ChangeStatus.SUCCEEDED);
    // Both events acknowledged (on their second try) before anyone opens the page.
    await waitFor(
      async () => {
        const { deliveries } = await alice.notifications.listDeliveries({ changeId });
        if (deliveries.length !== 2 || deliveries.some((d) => d.status !== DeliveryStatus.DELIVERED))
          throw new Error("not delivered yet");
      },
      { what: "deliveries acknowledged", timeoutMs: 30_000 },
    );
    browser = await launchChromium();
  });
  afterAll(async () => {
    releaseFlaky();
    await browser?.close();
    await service?.close();
    await hooks?.stop();
  });

  it("shows the owner team each delivery and its state, and no one else's", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/changes/${changeId}`);
    const panel = page.getByTestId("notifications");
    const rows = panel.locator("tbody tr");
    await expect
      .poll(() => rows.allTextContents(), { timeout: 30_000 })
      .toEqual([
        expect.stringMatching(/^submittedconfig:payments-hookdelivered .* · 2 attempts$/),
        expect.stringMatching(/^succeededconfig:payments-hookdelivered .* · 2 attempts$/),
      ]);
    await screenshot(page, "change-notifications");

    const outsider = await (await newPerson(browser)).newPage();
    await signIn(outsider, service.url, principals.outsider.token);
    await outsider.goto(`${service.url}/changes/${changeId}`);
    await expect
      .poll(() => outsider.getByTestId("notifications").textContent(), { timeout: 30_000 })
      .toBe("No notifications of your team's subscriptions.Refresh");
  });

  it("the overview counts what waits for me (overdue in red), failures, retries, drift and failing webhooks, as the API does (issue 27)", async () => {
    const alice = service.as("requester");
    const rita = service.as("reviewer");
    const apply = async (name: string, size: number) =>
      (await alice.resources.applyResource({ type: "test.widget", name, spec: { size }, requestId: name })).change!;
    // Drift: a widget changed by hand after it applied.
    expect((await watchToEnd(alice, (await apply("drifty", 5)).id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    reality.set("drifty", 9);
    // Found before anything hangs in the engine: a reconcile round waits for the engine's changes in flight.
    await waitFor(
      async () => {
        const drifty = (await alice.resources.getResource({ type: "test.widget", name: "drifty" })).resource!;
        if (drifty.status !== ResourceStatus.DRIFTED) throw new Error("not drifted yet");
      },
      { what: "drift found", timeoutMs: 60_000 },
    );
    // A failure (its "failed" event goes to the broken hook) and a change being retried.
    expect((await watchToEnd(alice, (await apply("broken", 5)).id)).change.status).toBe(ChangeStatus.FAILED);
    const flaky = await apply("flaky", 5);
    // Two changes waiting for a reviewer (widgets over 50 need one), the second 2 s after the first.
    const first = await apply("big-first", 60);
    await waitFor(
      async () => {
        if (Date.now() - timestampDate(first.createTime!).getTime() < 2_000) throw new Error("too soon");
      },
      { what: "2 s between the two pending changes", timeoutMs: 10_000 },
    );
    const second = await apply("big-second", 61);
    await waitFor(
      async () => {
        const { change } = await alice.changes.getChange({ id: flaky.id });
        if (!change?.lastError) throw new Error("flaky has not failed its first try yet");
        if ((await failingHookDeliveries()).length === 0) throw new Error("no failed delivery yet");
      },
      { what: "a retry and a failed delivery", timeoutMs: 60_000 },
    );

    // What the API says, read as the reviewer (a platform reviewer reviews every team's changes).
    const list = async (status: ChangeStatus) => (await rita.changes.listChanges({ status, pageSize: 500 })).changes;
    const ids = (changes: Change[]) => changes.map((c) => c.id);
    const waiting = (await list(ChangeStatus.PENDING_REVIEW)).filter(
      (c) => c.requestedBy !== "rita" && !c.reviews.some((r) => r.reviewer === "rita"),
    );
    const failed = await list(ChangeStatus.FAILED);
    const retrying = [...(await list(ChangeStatus.QUEUED)), ...(await list(ChangeStatus.APPLYING))].filter(
      (c) => c.lastError !== "",
    );
    const drifted = (await rita.resources.listResources({ status: ResourceStatus.DRIFTED })).resources;
    const deliveries = await failingHookDeliveries();
    expect(ids(waiting)).toEqual([first.id, second.id]);
    expect(ids(failed)).toEqual([expect.any(String)]);
    expect(ids(retrying)).toEqual([flaky.id]);
    expect(drifted.map((r) => r.name)).toEqual(["drifty"]);

    // The reviewer's clock reads one hour (the review reminder) after the midpoint between the two submissions:
    // the first has waited past the reminder, the second not yet.
    const context = await newPerson(browser);
    const page = await context.newPage();
    const created = (c: Change) => timestampDate(c.createTime!).getTime();
    await page.clock.setFixedTime(new Date(3_600_000 + (created(first) + created(second)) / 2));
    await signIn(page, service.url, principals.reviewer.token);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Overview");
    const count = async (name: string) => await page.getByTestId(`count-${name}`).locator(".count-value").textContent();
    await expect.poll(() => count("waiting-for-you")).toBe(String(waiting.length));
    expect(await count("failed-today")).toBe(String(failed.length));
    expect(await count("retrying")).toBe(String(retrying.length));
    expect(await count("drifted")).toBe(String(drifted.length));
    expect(await count("webhooks-failing")).toBe(String(deliveries.length));

    // The chart of the last day: as many applied as the API lists as SUCCEEDED since a day before the page's
    // clock, and their median and p95 time from submission to success.
    const pageNow = 3_600_000 + (created(first) + created(second)) / 2;
    const { changes: appliedToday } = await rita.changes.listChanges({
      status: ChangeStatus.SUCCEEDED,
      finishedAfter: timestampFromMs(pageNow - 24 * 3_600_000),
      pageSize: 500,
    });
    expect(appliedToday.length).toBeGreaterThan(0);
    const took = appliedToday.map((c) => timestampDate(c.finishTime!).getTime() - created(c)).sort((a, b) => a - b);
    const nearestRank = (p: number) => took[Math.ceil((p / 100) * took.length) - 1]!;
    await expect.poll(() => page.getByTestId("applied-total").textContent()).toBe(String(appliedToday.length));
    expect(await page.getByTestId("applied-median").textContent()).toBe(shortDuration(nearestRank(50)));
    expect(await page.getByTestId("applied-p95").textContent()).toBe(shortDuration(nearestRank(95)));
    const bars = await page
      .locator(".applied-chart .bar")
      .evaluateAll((els) => els.map((el) => el.getAttribute("data-count")));
    expect(bars).toHaveLength(24);
    expect(bars.reduce((sum, n) => sum + Number(n), 0)).toBe(appliedToday.length);

    // Oldest first, each with its age, red once it has waited past the reminder.
    const rows = page.locator("section[aria-labelledby=waiting] li");
    expect(await rows.evaluateAll((items) => items.map((li) => li.getAttribute("data-change-id")))).toEqual(
      ids(waiting),
    );
    const ages = page.locator("section[aria-labelledby=waiting] [data-testid=age]");
    expect(await ages.evaluateAll((els) => els.map((el) => el.classList.contains("overdue")))).toEqual([true, false]);
    expect(await ages.first().textContent()).toMatch(/^1 h \(overdue\)$/);
    expect(await page.locator("section[aria-labelledby=retrying] li").getAttribute("data-change-id")).toBe(flaky.id);
    expect(await page.getByTestId("drift-cluster").locator("li").allTextContents()).toEqual([
      expect.stringMatching(/^test\.widget\/drifty /),
    ]);
    expect(
      await page
        .locator("section[aria-labelledby=deliveries] li")
        .evaluateAll((items) => items.map((li) => li.getAttribute("data-delivery-id"))),
    ).toEqual(deliveries.map((d) => d.id));
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "overview");
    // Readable in the dark theme too (contrast is one of the rules).
    await page.emulateMedia({ colorScheme: "dark" });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "overview-dark");
    await page.emulateMedia({ colorScheme: "light" });

    // Each number opens the list behind it.
    await page.getByTestId("count-drifted").click();
    await page.waitForURL(/\/resources\?status=DRIFTED$/);
    await expect
      .poll(() => page.locator("tr[data-resource]").evaluateAll((trs) => trs.map((tr) => tr.dataset.resource)))
      .toEqual(["test.widget/drifty"]);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.goBack();
    await page.getByTestId("count-failed-today").click();
    await page.waitForURL(/\/queue\?status=FAILED$/);
    await expect
      .poll(() => page.locator("tr[data-change-id]").evaluateAll((trs) => trs.map((tr) => tr.dataset.changeId)))
      .toEqual(ids(failed));

    // A requester has no reviews to do: their landing page is the queue.
    const requester = await (await newPerson(browser)).newPage();
    await signIn(requester, service.url, principals.requester.token);
    await expect.poll(() => requester.getByRole("heading", { level: 1 }).textContent()).toBe("Review queue");
  });

  async function failingHookDeliveries(): Promise<Delivery[]> {
    const { deliveries } = await service
      .as("reviewer")
      .notifications.listDeliveries({ subscriptionId: "config:platform-hook" });
    return deliveries.filter(
      (d) => d.status === DeliveryStatus.EXPIRED || (d.status === DeliveryStatus.PENDING && d.attempts > 0),
    );
  }
});
