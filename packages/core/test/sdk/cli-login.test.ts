import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type DevIdp, approveDeviceCode, devIdpRules, startDevIdp, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, startTestService } from "../support/test-service.ts";

// Issue 24: `plinth login` signs in through the identity provider with the device flow, keeps the tokens
// 0600 in the user's config directory, refreshes them, and `plinth logout` forgets them.

const execFileAsync = promisify(execFile);
const plinthBin = join(import.meta.dirname, "../../../cli/bin/plinth.js");

let idp: DevIdp;
let service: TestService;
let configDir: string;

beforeAll(async () => {
  idp = await startDevIdp();
  service = await startTestService({
    config: { oidc: { issuers: [{ issuer: idp.issuer, audience: "plinth", rules: devIdpRules }] } },
  });
  configDir = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "plinth-cli-config-"));
}, 120_000);

afterAll(async () => {
  await service?.close();
  await idp?.stop();
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

/** `plinth login`, with `login` approving the printed address as a person would in a browser. */
async function login(as: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [plinthBin, "login"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
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
  await approveDeviceCode(url, as);
  return { code: await exited, stderr };
}

const credentials = () => join(configDir, "credentials.json");

describe("plinth login", () => {
  it(
    "signs in with the device flow, keeps the tokens 0600, refreshes them, and logout forgets them",
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

      const out = await plinth("logout");
      expect(out.stderr).toContain("Signed out");
      const after = await plinth("whoami");
      expect(after.code).not.toBe(0);
      expect(after.stderr).toMatch(/missing bearer token/);
    },
  );
});
