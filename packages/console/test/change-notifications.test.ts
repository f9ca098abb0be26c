import { ChangeStatus } from "@plinth/sdk";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { freePort, waitFor } from "../../testing/src/index.ts";
import { watchToEnd } from "../../core/test/support/connect-helpers.ts";
import { type TestService, principals, startTestService } from "../../core/test/support/test-service.ts";
import { WebhookReceiver } from "../../core/test/support/webhook-receiver.ts";
import { buildConsole, distDir, launchChromium, newPerson, screenshot, signIn } from "./support/browser.ts";

// A change's page lists the webhooks sent about it and how each went, to the subscription's owner team.
// The fake engine stands in for Pulumi; the receiver is a real HTTP server on loopback.
describe("a change's notifications in the console", { timeout: 200_000 }, () => {
  let service: TestService;
  let browser: Browser;
  let hooks: WebhookReceiver;
  let changeId: string;
  beforeAll(async () => {
    buildConsole();
    hooks = await new WebhookReceiver(await freePort()).start();
    // The first try of every event is refused, so the page has an attempt count to show.
    const tried = new Set<string>();
    hooks.answer = (request) => {
      const id = String(request.json.id);
      if (tried.has(id)) return 204;
      tried.add(id);
      return 503;
    };
    service = await startTestService({
      config: {
        console: { dir: distDir },
        notifications: {
          delivery: { pollMs: 25, retryBaseMs: 20, retryMaxMs: 50 },
          // The receiver is on loopback, which webhooks reach only when allowed.
          allowedTargets: ["127.0.0.1"],
          subscriptions: [
            { id: "payments-hook", url: hooks.url(), ownerTeam: "payments", kinds: ["submitted", "succeeded"] },
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
});
