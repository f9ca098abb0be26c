import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type DevIdp,
  approveAuthorization,
  approveDeviceCode,
  devIdpRules,
  startDevIdp,
  waitFor,
} from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, startTestService } from "../support/test-service.ts";
import { plinthBin } from "../support/run-plinth-cli.ts";

// Issue 24: `plinth login` signs in through the identity provider with the device flow, keeps the tokens
// 0600 in the user's config directory, refreshes them, and `plinth logout` revokes and forgets them. Where the
// provider has no device flow, it signs in through the browser with a redirect to a loopback port (code + PKCE).

const execFileAsync = promisify(execFile);

let idp: DevIdp;
/** A provider without the device flow, as some organisations' are. */
let codeOnlyIdp: DevIdp;
let service: TestService;
let configDir: string;

beforeAll(async () => {
  [idp, codeOnlyIdp] = await Promise.all([startDevIdp(), startDevIdp({ deviceFlow: false })]);
  service = await startTestService({
    config: {
      oidc: {
        issuers: [idp, codeOnlyIdp].map(({ issuer }) => ({ issuer, audience: "plinth", rules: devIdpRules })),
      },
    },
  });
  configDir = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "plinth-cli-config-"));
}, 120_000);

afterAll(async () => {
  await service?.close();
  await idp?.stop();
  await codeOnlyIdp?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

// No PLINTH_TOKEN: the CLI must use what login kept.
const env = () => {
  const { PLINTH_TOKEN: _token, PLINTH_TOKEN_FILE: _file, ...rest } = process.env;
  return { ...rest, PLINTH_URL: service.url, PLINTH_ISSUER: idp.issuer, PLINTH_CONFIG_DIR: configDir };
};

async function plinth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [plinthBin, ...args], { env: env() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * `plinth login`, with `as` approving the printed address as a person would in a browser: the device flow's
 * confirmation page, or (`approve: "browser"`) the provider's sign-in page that sends the browser back to the CLI.
 */
async function login(
  as: string,
  { args = [], approve = "device" }: { args?: string[]; approve?: "device" | "browser" } = {},
): Promise<{ code: number | null; stderr: string; page?: string }> {
  const child = spawn(process.execPath, [plinthBin, "login", ...args], {
    env: env(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = await waitFor(
    async () => {
      const found = /open (\S+)/.exec(stderr)?.[1];
      if (!found) throw new Error("no address printed yet");
      return found;
    },
    {
      what: "plinth login to print where to sign in",
      timeoutMs: 30_000,
      abortReason: () => (child.exitCode === null ? undefined : stderr),
    },
  );
  if (approve === "browser") {
    const page = await approveAuthorization(url, as);
    return { code: await exited, stderr, page: page.body };
  }
  await approveDeviceCode(url, as);
  return { code: await exited, stderr };
}

/** The provider's answer to a refresh with this refresh token, as the CLI would send it. */
async function refreshAt(issuer: string, refreshToken: string): Promise<number> {
  const res = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: "plinth-cli" }),
  });
  await res.body?.cancel();
  return res.status;
}

const credentials = () => join(configDir, "credentials.json");

describe("plinth login", () => {
  it(
    "signs in with the device flow, keeps the tokens 0600, refreshes them, and logout revokes and forgets them",
    { timeout: 120_000 },
    async () => {
      const signedIn = await login("bob");
      expect(signedIn.code, signedIn.stderr).toBe(0);
      expect(statSync(credentials()).mode & 0o777).toBe(0o600);

      const me = await plinth("whoami", "--json");
      expect(me.code, me.stderr).toBe(0);
      expect(JSON.parse(me.stdout)).toEqual({
        id: "bob",
        teams: [{ team: "payments", roles: ["reviewer"] }],
        issuer: idp.issuer,
        subject: "bob",
      });

      // Run out the access token: the next command refreshes it with the refresh token and keeps the new one.
      const stored = JSON.parse(readFileSync(credentials(), "utf8")) as { accessToken: string; expiresAt: number };
      writeFileSync(credentials(), JSON.stringify({ ...stored, accessToken: "expired", expiresAt: Date.now() - 1000 }));
      const again = await plinth("whoami", "--json");
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).id).toBe("bob");
      const refreshed = JSON.parse(readFileSync(credentials(), "utf8")) as { accessToken: string; expiresAt: number };
      expect(refreshed.accessToken).not.toBe("expired");
      expect(refreshed.expiresAt).toBeGreaterThan(Date.now());
      expect(statSync(credentials()).mode & 0o777).toBe(0o600);

      const { refreshToken: current } = JSON.parse(readFileSync(credentials(), "utf8")) as { refreshToken: string };
      const out = await plinth("logout");
      expect(out.stderr).toContain("Signed out");
      expect(out.stderr).not.toContain("warning");
      // Revoked at the provider: a copy of the file taken before logout no longer signs anyone in.
      expect(await refreshAt(idp.issuer, current)).toBe(400);
      const after = await plinth("whoami");
      expect(after.code).not.toBe(0);
      expect(after.stderr).toMatch(/missing bearer token/);
    },
  );

  it(
    "falls back to the browser and a loopback redirect (code flow with PKCE) where the provider has no device flow",
    { timeout: 120_000 },
    async () => {
      const signedIn = await login("dana", { args: ["--issuer", codeOnlyIdp.issuer], approve: "browser" });
      expect(signedIn.code, signedIn.stderr).toBe(0);
      expect(signedIn.stderr).toMatch(/comes back to http:\/\/127\.0\.0\.1:\d+\/callback/);
      expect(signedIn.page).toContain("Signed in");
      expect(statSync(credentials()).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(credentials(), "utf8")) as { issuer: string; refreshToken?: string };
      expect(stored.issuer).toBe(codeOnlyIdp.issuer);
      expect(stored.refreshToken).toBeTruthy();

      const me = await plinth("whoami", "--json");
      expect(me.code, me.stderr).toBe(0);
      expect(JSON.parse(me.stdout)).toEqual({
        id: "dana",
        teams: [
          { team: "orders", roles: ["requester"] },
          { team: "payments", roles: ["requester"] },
        ],
        issuer: codeOnlyIdp.issuer,
        subject: "dana",
      });

      // Asking for the device flow there says what to do instead.
      const device = await plinth("login", "--issuer", codeOnlyIdp.issuer, "--flow", "device");
      expect(device.code).not.toBe(0);
      expect(device.stderr).toMatch(/no device flow: use --flow browser/);
      expect((await plinth("logout")).stderr).toContain("Signed out");
    },
  );
});
