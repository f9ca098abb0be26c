import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, startTestService } from "../../core/test/support/test-service.ts";
import { type DevIdp, devIdpRules, freePort, startDevIdp } from "../../testing/src/index.ts";
import { buildConsole, distDir, launchChromium, newPerson } from "./support/browser.ts";

// Issue 24: the console signs in through the identity provider with the authorization code flow and PKCE,
// in Debian's Chromium, against the real server and the development provider as its own process.
describe("signing in to the console through the identity provider", { timeout: 180_000 }, () => {
  let idp: DevIdp;
  let service: TestService;
  let browser: Browser;
  beforeAll(async () => {
    buildConsole();
    const idpPort = await freePort();
    const issuer = `http://127.0.0.1:${idpPort}`;
    service = await startTestService({
      config: {
        console: { dir: distDir, signIn: { issuer } },
        oidc: { issuers: [{ issuer, audience: "plinth", rules: devIdpRules }] },
      },
    });
    idp = await startDevIdp({ port: idpPort, consoleRedirects: [`${service.url}/`] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await idp?.stop();
  });

  it("signs a person in two teams in, shows both teams with their roles, and signs out here and at the provider", async () => {
    const page = await (await newPerson(browser)).newPage();
    await page.goto(service.url);
    await page.getByRole("button", { name: "Sign in with your organisation" }).click();
    // The provider's own sign-in page.
    await page.getByLabel("User").selectOption("dana");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("me").textContent(), { timeout: 30_000 }).toBe("dana");
    expect(await page.getByTestId("teams").textContent()).toContain("orders (requester); payments (requester)");
    expect(new URL(page.url()).search).toBe("");

    // Signing out ends the session at the provider too (RP-initiated logout), which sends the browser back.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.origin === idp.issuer, { timeout: 30_000 });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.origin === service.url, { timeout: 30_000 });
    await expect.poll(() => page.getByRole("button", { name: "Sign in with your organisation" }).count()).toBe(1);

    // So the next person at this browser is asked who they are, rather than signed straight back in as dana.
    await page.getByRole("button", { name: "Sign in with your organisation" }).click();
    await page.getByLabel("User").selectOption("bob", { timeout: 30_000 });
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("me").textContent(), { timeout: 30_000 }).toBe("bob");
  });
});
