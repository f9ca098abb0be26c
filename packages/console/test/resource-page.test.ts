import { join } from "node:path";
import { ChangeStatus } from "@plinth/sdk";
import type { Browser } from "playwright-core";
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
  launchChromium,
  newPerson,
  screenshot,
  screenshotBothWidths,
  signIn,
} from "./support/browser.ts";

// The resource page over the API: reveal (owning team only), compare, revert.
// The test plugin's fake engine stands in for Pulumi: nothing here depends on what the engine does.
describe("the resource page", { timeout: 200_000 }, () => {
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
    await expect.poll(() => owner.locator("code.secret").textContent()).toBe("sn-gizmo");
  });

  it("compares any two revisions and reverts to an earlier one through a new change", async () => {
    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/resources/test.widget/gizmo`);
    const diff = page.getByTestId("spec-diff");
    await expect.poll(() => diff.textContent()).toContain("revision 1 → 2");
    expect(await diff.locator("tr.op-changed").allTextContents()).toEqual([expect.stringMatching(/^color.*redgreen$/)]);
    await page.getByLabel("From").selectOption("2");
    await page.getByLabel("To").selectOption("2");
    await expect.poll(() => diff.locator("caption").textContent()).toContain("no differences");
    await screenshot(page, "resource");

    await page.getByRole("button", { name: "Revert to 1" }).click();
    await page.getByLabel("Why revert to revision 1?").fill("green was a mistake");
    await page.getByRole("button", { name: "Request: revert to 1" }).click();
    await page.waitForURL(/\/changes\/chg_/);
    await expect.poll(() => page.getByTestId("change-status").textContent()).toContain("succeeded");
    await expect.poll(() => page.getByTestId("resource-outcome").textContent()).toContain("is now ready");
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
      .poll(() => grant.locator("td").allTextContents())
      .toEqual([
        "read orders-placed-events",
        "search",
        "sam",
        expect.stringMatching(/\d/),
        `…${grants[0]!.changeId.slice(-8)}`,
      ]);
    const outputs = await page.getByTestId("outputs").textContent();
    expect(outputs).not.toContain("{}");
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "resource-grants");

    // The resource it reaches has no grant of its own to show, and says so.
    await page.goto(`${service.url}/resources/test.owned/orders-placed-events`);
    await page.getByTestId("resource-grants-none").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });
});
