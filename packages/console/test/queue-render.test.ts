import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../../core/test/support/test-service.ts";
import { waitFor } from "../../testing/src/index.ts";
import { buildConsole, distDir, launchChromium, screenshot } from "./support/browser.ts";

const pending = 500;
const applied = 1_000;
const runs = 5;

/** Seeds `count` widgets named `${prefix}-NNNN` of `size(i)`, 25 requests at a time. */
async function seed(service: TestService, prefix: string, count: number, size: (i: number) => number) {
  const alice = service.as("requester");
  for (let start = 0; start < count; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, k) =>
        alice.resources.applyResource({
          type: "test.widget",
          name: `${prefix}-${String(start + k).padStart(count > 1000 ? 4 : 3, "0")}`,
          spec: { size: size(start + k) },
          requestId: `${prefix}-${start + k}`,
        }),
      ),
    );
  }
}

async function countReady(service: TestService): Promise<number> {
  let ready = 0;
  let pageToken = "";
  do {
    const page = await service
      .as("requester")
      .resources.listResources({ status: ResourceStatus.READY, pageSize: 500, pageToken });
    ready += page.resources.length;
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ready;
}

// A render benchmark, not a behaviour claim: the fake engine is enough to hold 500 creates pending review (the
// widget plugin asks a reviewer for widgets larger than 50) beside 1,000 widgets applied.
describe(`the review queue with ${pending} pending changes and ${applied} resources`, { timeout: 420_000 }, () => {
  let service: TestService;
  let browser: Browser;
  beforeAll(async () => {
    buildConsole();
    service = await startTestService({ config: { console: { dir: distDir } } });
    await seed(service, "widget", pending, (i) => 51 + (i % 40));
    await seed(service, "applied", applied, (i) => 1 + (i % 50));
    await waitFor(
      async () => {
        const ready = await countReady(service);
        if (ready < applied) throw new Error(`${ready} ready`);
      },
      { what: `${applied} widgets applied`, timeoutMs: 240_000 },
    );
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

    const timings: { rendered: number; painted: number; complete: number; wall: number }[] = [];
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
      await page.waitForFunction(() => performance.getEntriesByName("plinth:queue-complete").length > 0);
      const wall = Date.now() - started;
      const marks = await page.evaluate(() => ({
        rendered: performance.getEntriesByName("plinth:queue-rendered")[0]?.startTime ?? Infinity,
        painted: performance.getEntriesByName("plinth:queue-painted")[0]?.startTime ?? Infinity,
        complete: performance.getEntriesByName("plinth:queue-complete")[0]?.startTime ?? Infinity,
      }));
      const rows = page.locator("tr[data-change-id]");
      expect(await rows.count()).toBe(pending);
      expect(await rows.first().locator("td").nth(1).textContent()).toBe("test.widget/widget-000");
      expect(await rows.last().locator("td").nth(1).textContent()).toBe(`test.widget/widget-${pending - 1}`);
      timings.push({
        rendered: Math.round(marks.rendered),
        painted: Math.round(marks.painted),
        complete: Math.round(marks.complete),
        wall,
      });
      if (run === 0) await screenshot(page, "queue-500");
      await context.close();
    }
    const painted = timings.map((t) => t.painted).sort((a, b) => a - b);
    const median = painted[Math.floor(painted.length / 2)] ?? Infinity;
    const complete = timings.map((t) => t.complete).sort((a, b) => a - b);
    // The page renders its first screenful first, then every other row in a later frame (use-first-screenful.ts).
    process.stdout.write(
      `queue first render, ${pending} pending changes, ms from navigation start to the first screenful painted: ` +
        `median ${median}, min ${painted[0]}, max ${painted.at(-1)}; to all ${pending} rows in the DOM: median ` +
        `${complete[Math.floor(complete.length / 2)]}; runs: ` +
        timings
          .map((t) => `${t.painted} (first screenful in DOM ${t.rendered}, all rows ${t.complete}, wall ${t.wall})`)
          .join(", ") +
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
      // The first screenful, then the rest in a later frame.
      await expect.poll(() => page.locator("section[aria-labelledby=waiting] li").count()).toBe(pending);
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
      `overview first render, ${pending} changes waiting, ms from navigation start to the lists (first screenful) in the DOM: ` +
        `median ${sorted[1]}; runs: ${timings.join(", ")}\n`,
    );
  });

  it(`renders the resources page's first ${500} of ${applied + pending} resources, and the rest on Load more (issue 27)`, async () => {
    const timings: number[] = [];
    const complete: number[] = [];
    for (let run = 0; run < 3; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript((token) => sessionStorage.setItem("plinth.token", token), principals.reviewer.token);
      const page = await context.newPage();
      await page.goto(`${service.url}/resources`);
      await page.waitForFunction(() => performance.getEntriesByName("plinth:resources-rendered").length > 0);
      timings.push(
        Math.round(
          await page.evaluate(
            () => performance.getEntriesByName("plinth:resources-rendered")[0]?.startTime ?? Infinity,
          ),
        ),
      );
      const rows = page.getByTestId("resources").locator("tr[data-resource]");
      await page.waitForFunction(() => performance.getEntriesByName("plinth:resources-complete").length > 0);
      complete.push(
        Math.round(
          await page.evaluate(
            () => performance.getEntriesByName("plinth:resources-complete")[0]?.startTime ?? Infinity,
          ),
        ),
      );
      expect(await rows.count()).toBe(500);
      expect(await page.getByRole("status").textContent()).toBe("500+ resources");
      if (run === 0) {
        await screenshot(page, `resources-${applied}`);
        // Resources count from their creation, pending ones too: every one is listed once, page after page.
        await page.getByRole("button", { name: "Load more" }).click();
        await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(1_000);
        await page.getByRole("button", { name: "Load more" }).click();
        await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(applied + pending);
        expect(await page.getByRole("status").textContent()).toBe(`${applied + pending} resources`);
        expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
      }
      await context.close();
    }
    const sorted = [...timings].sort((a, b) => a - b);
    process.stdout.write(
      `resources page first render, ${applied + pending} resources, first 500 listed, ms from navigation start to ` +
        `the first screenful in the DOM: median ${sorted[1]}; runs: ${timings.join(", ")}; to all 500 rows: ` +
        `${complete.join(", ")}\n`,
    );
  });
});
