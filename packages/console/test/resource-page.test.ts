import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../../core/test/support/connect-helpers.ts";
import {
  type TestService,
  clientsFor,
  principals,
  principalsConfig,
  startTestService,
} from "../../core/test/support/test-service.ts";

// The cast, and a reviewer of search: what payments reaches of search's is approved by search.
const people = {
  ...principals,
  sam: { id: "sam", team: "search", roles: ["reviewer"] as const, token: "token-sam" },
};
import {
  accessibilityViolations,
  buildConsole,
  distDir,
  fitsTheWidth,
  launchChromium,
  newPerson,
  phone,
  screenshot,
  screenshotBothWidths,
  signIn,
} from "./support/browser.ts";

/** How long a page may take to show what the test awaits: the machine is shared and loaded. */
const patience = { timeout: 30_000 };

/** The Connect code a call fails with (it must fail). */
async function failureCode(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error("the call succeeded");
}

/** Presses Tab until `target` has the focus, as a keyboard user would reach it; fails if it never does. */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    if (await target.evaluate((element) => element.ownerDocument.activeElement === element)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error("never reached by Tab");
}

// The resource page over the API: reveal (owning team only), compare, revert; the access requests page and the
// team page, where cross-team access is approved, shown and revoked.
// The test plugin's fake engine stands in for Pulumi: nothing here depends on what the engine does.
describe("the resource, access and team pages", { timeout: 200_000 }, () => {
  let service: TestService;
  let browser: Browser;
  beforeAll(async () => {
    buildConsole();
    const support = join(import.meta.dirname, "../../core/test/support");
    service = await startTestService({
      config: {
        console: { dir: distDir },
        principals: principalsConfig(people),
        plugins: [
          { module: join(support, "widget-plugin.ts"), export: "widgetPlugin" },
          // A type whose specs reach other teams' resources (as a Kafka user reads another team's topics).
          { module: join(support, "owned-plugin.ts"), export: "ownedPlugin" },
        ],
      },
    });
    const alice = service.as("requester");
    for (const [i, color] of ["red", "green"].entries()) {
      const res = await alice.resources.applyResource({
        type: "test.widget",
        name: "gizmo",
        spec: { size: 5, color },
        requestId: `gizmo-${i}`,
      });
      expect((await watchToEnd(alice, res.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it("reveals a secret output to the owning team only, and says why to others", async () => {
    const outsider = await (await newPerson(browser)).newPage();
    await signIn(outsider, service.url, principals.outsider.token);
    await outsider.goto(`${service.url}/resources/test.widget/gizmo`);
    const reveal = outsider.getByRole("button", { name: "Reveal" });
    await reveal.waitFor();
    expect(await reveal.isDisabled()).toBe(true);
    expect(await outsider.getByTestId("outputs").textContent()).toContain(
      "Only team payments or an admin can reveal it.",
    );
    expect(await outsider.getByRole("button", { name: "Delete" }).isDisabled()).toBe(true);

    const owner = await (await newPerson(browser)).newPage();
    await signIn(owner, service.url, principals.requester.token);
    await owner.goto(`${service.url}/resources/test.widget/gizmo`);
    await owner.getByRole("button", { name: "Reveal" }).click();
    await expect.poll(() => owner.locator("code.secret").textContent(), patience).toBe("sn-gizmo");
  });

  it("compares any two revisions and reverts to an earlier one through a new change", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/resources/test.widget/gizmo`);
    const diff = page.getByTestId("spec-diff");
    await expect.poll(() => diff.textContent(), patience).toContain("revision 1 → 2");
    expect(await diff.locator("tr.op-changed").allTextContents()).toEqual([expect.stringMatching(/^color.*redgreen$/)]);
    await page.getByLabel("From").selectOption("2");
    await page.getByLabel("To").selectOption("2");
    await expect.poll(() => diff.locator("caption").textContent(), patience).toContain("no differences");
    await screenshot(page, "resource");

    await page.getByRole("button", { name: "Revert to 1" }).click();
    await page.getByLabel("Why revert to revision 1?").fill("green was a mistake");
    await page.getByRole("button", { name: "Request: revert to 1" }).click();
    await page.waitForURL(/\/changes\/chg_/);
    await expect.poll(() => page.getByTestId("change-status").textContent(), patience).toContain("succeeded");
    await expect.poll(() => page.getByTestId("resource-outcome").textContent(), patience).toContain("is now ready");
    const { resource } = await service.as("requester").resources.getResource({ type: "test.widget", name: "gizmo" });
    expect(resource?.revision).toBe(3n);
    expect(resource?.spec).toMatchObject({ color: "red" });
  });

  it("shows what the resource is: its spec, no raw {} for empty outputs, and the access it was granted (issue 27)", async () => {
    const olga = service.as("outsider");
    const alice = service.as("requester");
    const owned = await olga.resources.applyResource({
      type: "test.owned",
      name: "orders-placed-events",
      spec: { owner: { team: "search", contact: "#search" } },
      requestId: "orders-placed-events",
    });
    expect((await watchToEnd(olga, owned.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const asked = await alice.resources.applyResource({
      type: "test.owned",
      name: "payments-reader",
      spec: { owner: { team: "payments", contact: "#payments" }, reads: ["orders-placed-events"] },
      requestId: "payments-reader",
    });
    const sam = clientsFor(service.url, people.sam.token);
    await sam.changes.approveChange({ id: asked.change!.id, comment: "read-only, fine" });
    expect((await watchToEnd(alice, asked.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);

    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/resources/test.owned/payments-reader`);
    const spec = page.getByTestId("resource-spec");
    await spec.waitFor();
    expect(await spec.locator("tbody tr").allTextContents()).toEqual([
      "owner.team" + "payments",
      "owner.contact" + "#payments",
      "reads.0" + "orders-placed-events",
    ]);
    // The grant, with who of the owning team approved it and since when: the same as ListAccessGrants says.
    const { grants } = await alice.resources.listAccessGrants({ type: "test.owned", requesterTeam: "payments" });
    expect(grants).toHaveLength(1);
    const grant = page.getByTestId("resource-grants").locator("tbody tr");
    await expect
      .poll(() => grant.locator("td").allTextContents(), patience)
      .toEqual([
        "read orders-placed-events",
        "search",
        "sam",
        expect.stringMatching(/\d/),
        `…${grants[0]!.changeId.slice(-8)}`,
      ]);
    const outputs = await page.getByTestId("outputs").textContent();
    expect(outputs).not.toContain("{}");
    // A plugin without a summary hook: an empty summary, and no "Now" section on its page.
    const summary = await olga.resources.getResourceSummary({ type: "test.owned", name: "payments-reader" });
    expect([summary.facts, summary.series, summary.missing]).toEqual([[], [], []]);
    expect(await page.getByRole("heading", { name: "Now" }).count()).toBe(0);
    expect(await failureCode(olga.resources.getResourceSummary({ type: "test.owned", name: "no-such-reader" }))).toBe(
      Code.NotFound,
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "resource-grants");

    // The resource it reaches has no grant of its own to show, and says so.
    await page.goto(`${service.url}/resources/test.owned/orders-placed-events`);
    await page.getByTestId("resource-grants-none").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("an owner approves an access request from the access page by keyboard; the grant then shows on the team page, where the owner revokes it (issue 27)", async () => {
    const olga = service.as("outsider");
    const alice = service.as("requester");
    const owned = await olga.resources.applyResource({
      type: "test.owned",
      name: "catalog-events",
      spec: { owner: { team: "search", contact: "#search" } },
      requestId: "catalog-events",
    });
    expect((await watchToEnd(olga, owned.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const asked = await alice.resources.applyResource({
      type: "test.owned",
      name: "payments-catalog-reader",
      spec: { owner: { team: "payments", contact: "#payments" }, reads: ["catalog-events"] },
      requestId: "payments-catalog-reader",
      comment: "to index the catalogue",
    });
    expect(asked.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const changeId = asked.change!.id;
    const ask = (page: Page) => page.locator(`li[data-change-id="${changeId}"]`);

    // A member of search without the reviewer role sees the request, is offered no decision, and the server agrees.
    const olgaTab = await (await newPerson(browser)).newPage();
    await signIn(olgaTab, service.url, principals.outsider.token);
    await olgaTab.goto(`${service.url}/access`);
    await ask(olgaTab).waitFor();
    expect(await ask(olgaTab).getByTestId("ask-blocked").textContent()).toBe(
      "Only a reviewer of search or an admin decides.",
    );
    expect(await ask(olgaTab).getByRole("button").count()).toBe(0);
    expect(await failureCode(olga.changes.approveChange({ id: changeId, team: "search" }))).toBe(Code.PermissionDenied);
    // A reviewer of another team (a platform reviewer, who reviews the change itself) is not shown search's request,
    // and cannot approve for search.
    const ritaTab = await (await newPerson(browser)).newPage();
    await signIn(ritaTab, service.url, principals.reviewer.token);
    await ritaTab.goto(`${service.url}/access`);
    await expect
      .poll(() => ritaTab.getByTestId("access-summary").textContent(), patience)
      .toBe("0 waiting, oldest first.");
    expect(await failureCode(service.as("reviewer").changes.approveChange({ id: changeId, team: "search" }))).toBe(
      Code.PermissionDenied,
    );

    // sam, a reviewer of search, lands on the overview, whose count is the page's; all by keyboard from there.
    const sam = await (await newPerson(browser)).newPage();
    await signIn(sam, service.url, people.sam.token);
    await expect
      .poll(() => sam.getByTestId("count-access-requests").locator(".count-value").textContent(), patience)
      .toBe("1");
    await sam.getByRole("link", { name: "Access requests", exact: true }).focus();
    await sam.keyboard.press("Enter");
    await sam.waitForURL(/\/access$/);
    await ask(sam).waitFor();
    expect(await ask(sam).getByTestId("ask-what").textContent()).toBe("payments asks to read catalog-events");
    expect(await ask(sam).getByTestId("ask-who").textContent()).toBe("asked by alice");
    expect(
      await ask(sam)
        .getByRole("link", { name: /^change / })
        .getAttribute("href"),
    ).toBe(`/changes/${changeId}`);
    expect(await accessibilityViolations(sam)).toEqual([]);
    await sam.setViewportSize(phone);
    expect(await fitsTheWidth(sam, "ul.asks")).toBe(true);
    expect(await accessibilityViolations(sam)).toEqual([]);
    await screenshotBothWidths(sam, "access-requests");
    // Readable in the dark theme too (contrast is one of the rules).
    await sam.emulateMedia({ colorScheme: "dark" });
    expect(await accessibilityViolations(sam)).toEqual([]);
    await screenshot(sam, "access-requests-dark");
    await sam.emulateMedia({ colorScheme: "light" });

    await tabTo(sam, ask(sam).getByLabel("Comment (required to reject)"));
    await sam.keyboard.type("read-only, fine");
    await tabTo(sam, ask(sam).getByRole("button", { name: "Approve" }));
    await sam.keyboard.press("Enter");
    await expect
      .poll(() => sam.getByTestId("access-summary").textContent(), patience)
      .toBe("Approved for search: payments asks to read catalog-events. 0 waiting, oldest first.");
    expect((await watchToEnd(alice, changeId)).change.status).toBe(ChangeStatus.SUCCEEDED);

    // The grant on search's team page: who approved it and since when, as ListAccessGrants says.
    const { grants } = await alice.resources.listAccessGrants({ ownerTeam: "search" });
    const grant = grants.find((g) => g.name === "payments-catalog-reader");
    expect(grant).toMatchObject({ approvedBy: ["sam"], changeId, requesterTeam: "payments", field: "reads.0" });
    await sam.getByRole("link", { name: "Team search" }).click();
    const row = sam.locator('[data-testid="grants-given"] tr[data-grant="test.owned/payments-catalog-reader/reads.0"]');
    await expect
      .poll(() => row.locator("td").allTextContents(), patience)
      .toEqual([
        "test.owned/payments-catalog-reader",
        "read catalog-events",
        "payments",
        "sam",
        expect.stringMatching(/\d/),
        `…${changeId.slice(-8)}`,
        "Revoke: payments may no longer read catalog-events",
      ]);
    expect(await accessibilityViolations(sam)).toEqual([]);
    await screenshotBothWidths(sam, "team-search");

    // payments sees the same grant as access it has, and may not revoke search's grants.
    const aliceTab = await (await newPerson(browser)).newPage();
    await signIn(aliceTab, service.url, principals.requester.token);
    await aliceTab.goto(`${service.url}/teams/payments`);
    const held = aliceTab.locator(
      '[data-testid="grants-held"] tr[data-grant="test.owned/payments-catalog-reader/reads.0"]',
    );
    await expect.poll(() => held.locator("td").nth(3).textContent(), patience).toBe("sam");
    await aliceTab.goto(`${service.url}/teams/search`);
    await aliceTab.getByTestId("grants-given").waitFor();
    expect(await aliceTab.getByTestId("grants-given").getByRole("button").count()).toBe(0);
    expect(
      await failureCode(
        alice.resources.revokeAccessGrant({ type: "test.owned", name: "payments-catalog-reader", field: "reads.0" }),
      ),
    ).toBe(Code.PermissionDenied);

    // search's reviewer revokes it: a change of payments' resource, and the row goes once it applies.
    await tabTo(sam, row.getByRole("button", { name: /^Revoke/ }));
    await sam.keyboard.press("Enter");
    // The form takes the focus: what is typed next is the reason, and Enter submits it.
    const why = sam.getByLabel("Why");
    await expect.poll(() => why.evaluate((field) => field.ownerDocument.activeElement === field), patience).toBe(true);
    await sam.keyboard.type("the catalogue is indexed");
    expect(await why.inputValue()).toBe("the catalogue is indexed");
    await sam.keyboard.press("Enter");
    await expect.poll(() => sam.getByTestId("revocation").textContent(), patience).toMatch(/succeeded$/);
    await expect.poll(() => row.count(), patience).toBe(0);
    const after = await alice.resources.listAccessGrants({ ownerTeam: "search" });
    expect(after.grants.filter((g) => g.name === "payments-catalog-reader")).toEqual([]);
    const { resource } = await alice.resources.getResource({ type: "test.owned", name: "payments-catalog-reader" });
    expect(resource?.spec).toMatchObject({ reads: [] });
  });

  it("shows a team's usage against each quota as bars that match GetTeamUsage, and its resources by type (issue 27)", async () => {
    const alice = service.as("requester");
    // One of the test plugin's quota'd things of payments' own, so there is a bar with something on it.
    const ledger = await alice.resources.applyResource({
      type: "test.owned",
      name: "payments-ledger",
      spec: { owner: { team: "payments", contact: "#payments" } },
      requestId: "payments-ledger",
    });
    expect((await watchToEnd(alice, ledger.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    // From a resource's page, its owner team links to the team's page.
    await page.goto(`${service.url}/resources/test.owned/payments-ledger`);
    await page.getByTestId("owner-team").click();
    await page.waitForURL(/\/teams\/payments$/);
    await page.getByTestId("usages").waitFor();
    const { usage } = await alice.resources.getTeamUsage({ team: "payments" });
    // The test plugin's quota: 5 test.owned per team.
    expect(usage.some((u) => u.limit !== undefined && u.used > 0)).toBe(true);
    const bars = await page.getByTestId("usage").evaluateAll((items) =>
      items.map((item) => {
        const meter = item.querySelector('[role="meter"]');
        const fill = item.querySelector(".bar-fill");
        return {
          metric: item.getAttribute("data-metric"),
          used: Number(meter?.getAttribute("aria-valuenow")),
          limit: Number(meter?.getAttribute("aria-valuemax")),
          text: item.querySelector(".usage-text")?.textContent,
          // How full the bar is drawn, from the rendered widths.
          drawn: fill && meter ? fill.getBoundingClientRect().width / meter.clientWidth : undefined,
        };
      }),
    );
    expect(bars).toEqual(
      usage.map((u) => ({
        metric: `${u.type} · ${u.scope} · ${u.metric}`,
        used: u.used,
        limit: u.limit,
        text: `${u.used} of ${u.limit} (${Math.round((u.used / u.limit!) * 100)} %)`,
        drawn: expect.closeTo(Math.min(1, u.used / u.limit!), 2),
      })),
    );
    const { resources } = await alice.resources.listResources({ team: "payments", pageSize: 500 });
    const shown = await page
      .getByTestId("resource-type")
      .evaluateAll((groups) =>
        groups.map((g) => [
          g.getAttribute("data-type"),
          [...g.querySelectorAll("li")].map((li) => li.getAttribute("data-resource")),
        ]),
      );
    const types = [...new Set(resources.map((r) => r.type))].sort();
    expect(shown).toEqual(
      types.map((type) => [type, resources.filter((r) => r.type === type).map((r) => `${r.type}/${r.name}`)]),
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.setViewportSize(phone);
    expect(await fitsTheWidth(page, "ul.usages")).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "team-payments");
    await page.emulateMedia({ colorScheme: "dark" });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "team-payments-dark");
  });
});
