import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";

export const consoleRoot = join(import.meta.dirname, "../..");
export const distDir = join(consoleRoot, "dist");
/** Screenshots the browser tests leave behind (gitignored). */
export const screenshotDir = join(consoleRoot, "test-results");

/** Builds dist/ unless it is current (the same content-hash check `make setup` does). */
export function buildConsole(): void {
  execFileSync("bash", [join(consoleRoot, "../../scripts/toolchain/console.sh")], { stdio: "inherit" });
}

/**
 * Debian's Chromium, headless, with nothing that reaches for the network on
 * its own. Playwright gives each launch a fresh user data directory.
 */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: process.env.PLINTH_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A browser context that is one person's tab: its own session storage, so its own token. */
export async function newPerson(browser: Browser): Promise<BrowserContext> {
  return await browser.newContext({ viewport: { width: 1400, height: 900 } });
}

/** Signs in through the page's form, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(baseUrl);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("me").waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** axe-core's rules for WCAG 2.0 and 2.1, levels A and AA. */
const wcag21aa = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe-core in the page against WCAG 2.1 A/AA and returns each violation
 * as one line (rule, what it is, the first offending elements), so a failed
 * assertion says what to fix. Evaluated over the DevTools protocol, which the
 * page's Content-Security-Policy does not govern; injected once per document.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) {
    const source = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    await page.evaluate(source);
  }
  const violations = await page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: AxeRunner }).axe;
    // No context: the whole document.
    const result = await axe.run({ runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => String(n.target)) }));
  }, wcag21aa);
  return violations.map((v) => `${v.id} (${v.help}): ${v.targets.slice(0, 3).join(" | ")}`);
}

interface AxeRunner {
  run(options: {
    runOnly: { type: "tag"; values: string[] };
    resultTypes: string[];
  }): Promise<{ violations: { id: string; help: string; nodes: { target: unknown }[] }[] }>;
}

/** The widths screenshots are taken at: a desktop window and a phone held upright. */
export const desktop = { width: 1400, height: 900 };
export const phone = { width: 390, height: 844 };

/** A screenshot at desktop width and one at phone width (`<name>-phone.png`), for a person to look at. */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  const before = page.viewportSize() ?? desktop;
  await page.setViewportSize(desktop);
  await screenshot(page, name);
  await page.setViewportSize(phone);
  await screenshot(page, `${name}-phone`);
  await page.setViewportSize(before);
}

/** Whether the element's box and the page both fit in the viewport's width (nothing to scroll sideways). */
export async function fitsTheWidth(page: Page, selector: string): Promise<boolean> {
  return await page.locator(selector).evaluate((element) => {
    const root = element.ownerDocument.documentElement;
    return element.getBoundingClientRect().right <= root.clientWidth && root.scrollWidth <= root.clientWidth;
  });
}
