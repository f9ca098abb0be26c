import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../../core/test/support/test-service.ts";
import { buildConsole, distDir, launchChromium, screenshot } from "./support/browser.ts";

const pending = 500;
const runs = 5;

// A render benchmark, not a behaviour claim: the fake engine is enough to
// hold 500 creates pending review (every create needs one approval here).
describe(`the review queue with ${pending} pending changes`, { timeout: 300_000 }, () => {
  let service: TestService;
  let browser: Browser;
  beforeAll(async () => {
    buildConsole();
    service = await startTestService({
      config: { console: { dir: distDir }, review: { approvals: { CREATE: 1, UPDATE: 1, DELETE: 1 } } },
    });
    const alice = service.as("requester");
    for (let start = 0; start < pending; start += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, pending - start) }, (_, k) =>
          alice.resources.applyResource({
            type: "test.widget",
            name: `widget-${String(start + k).padStart(3, "0")}`,
            spec: { size: 1 + ((start + k) % 50) },
            requestId: `seed-${start + k}`,
          }),
        ),
      );
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it("renders all of them, oldest first, and prints its render time", async () => {
    // The browser is already running for a reviewer: its own first start is not the page's render time.
    const warm = await browser.newContext();
    await (await warm.newPage()).goto(`${service.url}/queue`);
    await warm.close();

    const timings: { rendered: number; painted: number; wall: number }[] = [];
    for (let run = 0; run < runs; run++) {
      // A fresh context each run: nothing cached, signed in through session storage as the page does it.
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript((token) => sessionStorage.setItem("plinth.token", token), principals.reviewer.token);
      const page = await context.newPage();
      const started = Date.now();
      await page.goto(`${service.url}/queue`);
      await page
        .locator("tr[data-change-id]")
        .nth(pending - 1)
        .waitFor({ state: "attached" });
      await page.waitForFunction(() => performance.getEntriesByName("plinth:queue-painted").length > 0);
      const wall = Date.now() - started;
      const marks = await page.evaluate(() => ({
        rendered: performance.getEntriesByName("plinth:queue-rendered")[0]?.startTime ?? Infinity,
        painted: performance.getEntriesByName("plinth:queue-painted")[0]?.startTime ?? Infinity,
      }));
      const rows = page.locator("tr[data-change-id]");
      expect(await rows.count()).toBe(pending);
      expect(await rows.first().locator("td").nth(1).textContent()).toBe("test.widget/widget-000");
      expect(await rows.last().locator("td").nth(1).textContent()).toBe(`test.widget/widget-${pending - 1}`);
      timings.push({ rendered: Math.round(marks.rendered), painted: Math.round(marks.painted), wall });
      if (run === 0) await screenshot(page, "queue-500");
      await context.close();
    }
    const painted = timings.map((t) => t.painted).sort((a, b) => a - b);
    const median = painted[Math.floor(painted.length / 2)] ?? Infinity;
    process.stdout.write(
      `queue first render, ${pending} pending changes, ms from navigation start to the rows painted: ` +
        `median ${median}, min ${painted[0]}, max ${painted.at(-1)}; runs: ` +
        timings.map((t) => `${t.painted} (rows in DOM ${t.rendered}, wall ${t.wall})`).join(", ") +
        "\n",
    );
    // Printed for BENCHMARKS.md, not asserted: performance is measured, never timed in tests. The file runs
    // beside another on CI's two cores, where a bound fails by chance (both sides of the last paired runs
    // missed 1.5 s at load 13 to 35).
  });

  it(`renders the reviewers' overview with the ${pending} changes waiting for them (issue 27)`, async () => {
    const timings: number[] = [];
    for (let run = 0; run < 3; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript((token) => sessionStorage.setItem("plinth.token", token), principals.reviewer.token);
      const page = await context.newPage();
      await page.goto(`${service.url}/`);
      await page.waitForFunction(() => performance.getEntriesByName("plinth:overview-rendered").length > 0);
      expect(await page.getByTestId("count-waiting-for-you").locator(".count-value").textContent()).toBe(
        String(pending),
      );
      expect(await page.locator("section[aria-labelledby=waiting] li").count()).toBe(pending);
      timings.push(
        Math.round(
          await page.evaluate(() => performance.getEntriesByName("plinth:overview-rendered")[0]?.startTime ?? Infinity),
        ),
      );
      if (run === 0) await screenshot(page, "overview-500");
      await context.close();
    }
    const sorted = [...timings].sort((a, b) => a - b);
    process.stdout.write(
      `overview first render, ${pending} changes waiting, ms from navigation start to the lists in the DOM: ` +
        `median ${sorted[1]}; runs: ${timings.join(", ")}\n`,
    );
  });
});
