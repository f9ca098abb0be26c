import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
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
