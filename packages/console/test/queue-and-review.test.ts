import { join } from "node:path";
import { ChangeStatus } from "@plinth/sdk";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../../core/test/support/connect-helpers.ts";
import { type TestService, principals, startTestService } from "../../core/test/support/test-service.ts";
import {
  accessibilityViolations,
  buildConsole,
  distDir,
  fitsTheWidth,
  launchChromium,
  newPerson,
  phone,
  screenshotBothWidths,
  signIn,
} from "./support/browser.ts";

// Queue filters, the resolved spec with the plugin's reasons, and a rejection,
// over the API with the test plugin (widgets larger than 50 need a reviewer).
describe("the queue's filters and a rejected change", { timeout: 200_000 }, () => {
  let service: TestService;
  let browser: Browser;
  let pendingId: string;
  beforeAll(async () => {
    buildConsole();
    const support = join(import.meta.dirname, "../../core/test/support");
    service = await startTestService({
      config: {
        console: { dir: distDir },
        plugins: [
          { module: join(support, "widget-plugin.ts"), export: "widgetPlugin" },
          // A type whose specs reach other teams' resources, so changes carry access requests.
          { module: join(support, "owned-plugin.ts"), export: "ownedPlugin" },
        ],
      },
    });
    const alice = service.as("requester");
    const small = await alice.resources.applyResource({
      type: "test.widget",
      name: "small",
      spec: { size: 3 },
      requestId: "small",
    });
    expect((await watchToEnd(alice, small.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const big = await alice.resources.applyResource({
      type: "test.widget",
      name: "big",
      spec: { size: 60 },
      requestId: "big",
      comment: "for the launch",
    });
    expect(big.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    pendingId = big.change!.id;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  const queueResources = async (page: Page) => {
    await page.getByRole("status").filter({ hasText: "oldest first" }).waitFor();
    return await page.locator("tr[data-change-id] td:nth-child(2)").allTextContents();
  };

  it("filters the queue by status, team and type, and keeps the filters in the address", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.reviewer.token);
    await page.goto(`${service.url}/queue`);
    expect(await queueResources(page)).toEqual(["test.widget/big"]);

    await page.getByLabel("Status").selectOption("SUCCEEDED");
    await page.waitForURL(/status=SUCCEEDED/);
    await expect.poll(() => queueResources(page)).toEqual(["test.widget/small"]);

    await page.getByLabel("Status").selectOption("any");
    await expect.poll(() => queueResources(page)).toEqual(["test.widget/small", "test.widget/big"]);
    await page.getByLabel("Team").fill("search");
    await page.getByLabel("Team").press("Enter");
    await expect.poll(() => queueResources(page)).toEqual([]);
    await page.getByLabel("Team").fill("payments");
    await page.getByLabel("Team").press("Enter");
    await page.getByLabel("Type").selectOption("test.widget");
    await page.waitForURL(/type=test.widget/);
    await expect.poll(() => queueResources(page)).toEqual(["test.widget/small", "test.widget/big"]);

    // A reload keeps the filters: they live in the address.
    await page.reload();
    expect(await page.getByLabel("Team").inputValue()).toBe("payments");
    await expect.poll(() => queueResources(page)).toEqual(["test.widget/small", "test.widget/big"]);
  });

  it("shows the resolved spec with the plugin's reasons, and rejects only with a comment", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.reviewer.token);
    await page.goto(`${service.url}/changes/${pendingId}`);
    const resolved = page.getByTestId("resolved-spec");
    await resolved.waitFor();
    expect(await resolved.locator("tbody tr").allTextContents()).toEqual([
      "colorblueblue is the house colour",
      "size60as requested",
    ]);
    const notes = page.getByRole("region", { name: "Validation and guardrail notes" }).getByRole("listitem");
    expect(await notes.allTextContents()).toEqual(["widgets larger than 50 need a reviewer"]);

    const reject = page.getByRole("button", { name: "Reject" });
    expect(await reject.isDisabled()).toBe(true);
    await page.getByLabel("Comment").fill("60 is more than the launch needs: ask for 40");
    await reject.click();
    await expect.poll(() => page.getByTestId("change-status").textContent()).toContain("rejected");
    expect(await page.getByTestId("history").textContent()).toContain("60 is more than the launch needs");
    expect(await page.getByTestId("review-blocked").textContent()).toBe("No longer pending review: it is rejected.");
  });

  it("shows a change submitted meanwhile after Refresh", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.reviewer.token);
    await page.goto(`${service.url}/queue`);
    expect(await queueResources(page)).toEqual([]);
    await service.as("requester").resources.applyResource({
      type: "test.widget",
      name: "bigger",
      spec: { size: 70 },
      requestId: "bigger",
    });
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => queueResources(page)).toEqual(["test.widget/bigger"]);
  });

  it("shows a change submitted meanwhile without a reload, within its refresh period (issue 27)", async () => {
    const page = await (await newPerson(browser)).newPage();
    await page.clock.install();
    await signIn(page, service.url, principals.reviewer.token);
    await page.goto(`${service.url}/queue?type=test.widget`);
    const before = await queueResources(page);
    expect(before).not.toContain("test.widget/live");
    await service.as("requester").resources.applyResource({
      type: "test.widget",
      name: "live",
      spec: { size: 80 },
      requestId: "live",
    });
    await page.clock.runFor(15_000);
    await expect.poll(() => queueResources(page)).toEqual([...before, "test.widget/live"]);
  });

  it("tells apart changes submitted in the same minute, reads access requests in full, and fits a phone (issue 27)", async () => {
    // Four changes within a second: their ids share the time that starts them.
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) {
      const { change } = await service.as("requester").resources.applyResource({
        type: "test.widget",
        name: `burst-${n}`,
        spec: { size: 60 + n },
        requestId: `burst-${n}`,
      });
      ids.push(change!.id);
    }
    // search owns what payments asks to read: the change carries an access request to search.
    const owned = await service.as("outsider").resources.applyResource({
      type: "test.owned",
      name: "orders-placed-events",
      spec: { owner: { team: "search", contact: "#search" } },
      requestId: "orders-placed-events",
    });
    expect((await watchToEnd(service.as("outsider"), owned.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const asks = await service.as("requester").resources.applyResource({
      type: "test.owned",
      name: "payments-reader",
      spec: { owner: { team: "payments", contact: "#payments" }, reads: ["orders-placed-events"] },
      requestId: "payments-reader",
    });
    expect(asks.change?.accessRequests).toHaveLength(1);

    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.reviewer.token);
    await page.goto(`${service.url}/queue`);
    await page.locator(`tr[data-change-id="${asks.change!.id}"]`).waitFor();

    // Each row's link reads differently, and carries the whole id in its title and address.
    const links = await Promise.all(
      ids.map(async (id) => {
        const link = page.locator(`tr[data-change-id="${id}"] td:first-child a`);
        return {
          id,
          text: await link.textContent(),
          title: await link.getAttribute("title"),
          href: await link.getAttribute("href"),
        };
      }),
    );
    expect(new Set(links.map((l) => l.text)).size).toBe(ids.length);
    for (const link of links) {
      expect(link.title).toBe(link.id);
      expect(link.href).toBe(`/changes/${link.id}`);
      expect(link.id.endsWith(link.text!.replace("…", ""))).toBe(true);
    }

    // The access request is shown whole, not cut at the column's edge.
    const approvals = page.locator(`tr[data-change-id="${asks.change!.id}"] td.approvals`);
    expect(await approvals.getByTestId("access-request").textContent()).toBe(
      "payments asks to read orders-placed-events (needs search)",
    );
    expect(await approvals.evaluate((cell) => cell.scrollWidth <= cell.clientWidth)).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);

    // At phone width the queue fits the screen: no row runs off to the right.
    await page.setViewportSize(phone);
    expect(await fitsTheWidth(page, "table.queue")).toBe(true);
    expect(await approvals.evaluate((cell) => cell.scrollWidth <= cell.clientWidth)).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "queue-access-requests");
  });
  it("shows a change set on one page, what needs whose approval, and approves it as one within each member's rules (issue 25)", async () => {
    const owned = (team: string, reads: string[] = []) => ({ owner: { team, contact: `#${team}` }, reads });
    const target = await service.as("outsider").resources.applyResource({
      type: "test.owned",
      name: "cs-target",
      spec: owned("search"),
      requestId: "cs-target",
    });
    const old = await service.as("requester").resources.applyResource({
      type: "test.owned",
      name: "cs-old",
      spec: owned("payments"),
      requestId: "cs-old",
    });
    for (const [who, id] of [
      ["outsider", target.change!.id],
      ["requester", old.change!.id],
    ] as const) {
      expect((await watchToEnd(service.as(who), id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    }
    // One set: a reader of search's resource (search must consent) and a deletion (reviewed as any deletion).
    const { changeSet } = await service.as("requester").changeSets.submitChangeSet({
      entries: [
        { type: "test.owned", name: "cs-reader", labels: {}, spec: owned("payments", ["cs-target"]) },
        { type: "test.owned", name: "cs-old", labels: {}, delete: true },
      ],
      requestId: "cs-set",
      comment: "the payments folder",
    });
    const [reader, deletion] = changeSet!.members.map((m) => m.change!);

    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.reviewer.token);
    // Linked from each member's own page.
    await page.goto(`${service.url}/changes/${reader!.id}`);
    await page.getByRole("link", { name: /review them together/ }).click();
    await page.waitForURL(`**/change-sets/${changeSet!.id}`);
    const members = page.getByTestId("set-member");
    await expect.poll(() => members.count()).toBe(2);
    expect(await members.getByRole("heading").allTextContents()).toEqual([
      "create test.owned/cs-reader",
      "delete test.owned/cs-old",
    ]);
    expect(await page.getByTestId("set-member-waiting").allTextContents()).toEqual([
      "Needs approval from: search",
      "Needs approval from: payments",
    ]);
    expect(await members.nth(0).getByTestId("spec-diff").locator("caption").textContent()).toMatch(/values differ/);
    expect(await accessibilityViolations(page)).toEqual([]);

    // platform reviews for every team, yet its approval does not stand in for search's consent.
    await page.getByRole("button", { name: "Approve all I may" }).click();
    await expect
      .poll(() => page.getByTestId("set-member-waiting").allTextContents())
      .toEqual(["Needs approval from: search", "No approval needed now"]);
    const after = await service.as("admin").changes.getChange({ id: reader!.id });
    expect(after.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect((await service.as("admin").changes.getChange({ id: deletion!.id })).change?.status).not.toBe(
      ChangeStatus.PENDING_REVIEW,
    );
    expect(await accessibilityViolations(page)).toEqual([]);

    // The requester sees why it may not review its own set.
    const own = await (await newPerson(browser)).newPage();
    await signIn(own, service.url, principals.requester.token);
    await own.goto(`${service.url}/change-sets/${changeSet!.id}`);
    await expect
      .poll(() => own.getByTestId("set-review-blocked").textContent())
      .toMatch(/You requested this change set/);
  });
});
