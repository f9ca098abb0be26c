import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ChangeStatus, Code, ConnectError, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../support/test-service.ts";
import { plinthBin } from "../support/run-plinth-cli.ts";
import { runRunbook } from "../support/runbook.ts";

const execFileAsync = promisify(execFile);

/** Runs the real `plinth` executable against the test server. */
async function plinth(
  service: TestService | { env: Record<string, string> },
  token: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = "env" in service ? service.env : { PLINTH_URL: service.url };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [plinthBin, ...args], {
      env: { ...process.env, ...env, PLINTH_TOKEN: token },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A loopback port nothing listens on: taken from the kernel, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A private CA and a server certificate it signed for 127.0.0.1 and localhost, made with openssl. */
function privateCa(dir: string): { ca: string; cert: string; key: string } {
  const [ca, caKey, cert, key, csr, ext] = ["ca.pem", "ca-key.pem", "cert.pem", "key.pem", "server.csr", "san.ext"].map(
    (file) => join(dir, file),
  ) as [string, string, string, string, string, string];
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ecKey, "-keyout", caKey, "-out", ca, "-days", "1", "-subj", "/CN=Plinth test CA");
  openssl("req", ...ecKey, "-keyout", key, "-out", csr, "-subj", "/CN=localhost");
  writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "1",
    "-extfile",
    ext,
  );
  return { ca, cert, key };
}

describe("the plinth CLI's connection options against the real server (issue 30)", () => {
  it("trusts a private CA through --ca-file or PLINTH_CA_FILE, over HTTP/1.1 and HTTP/2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-cli-tls-"));
    const { ca, cert, key } = privateCa(dir);
    const service = await startTestService({
      dataDir: dir,
      config: { listen: { host: "127.0.0.1", port: 0, tls: { certFile: cert, keyFile: key } } },
    });
    try {
      expect(service.url).toMatch(/^https:/);
      const token = principals.requester.token;
      const env = { PLINTH_URL: service.url };
      const trusted = await plinth({ env }, token, "--ca-file", ca, "plugins", "--json");
      expect(trusted.code).toBe(0);
      expect(trusted.stdout).toContain("test.widget");
      expect((await plinth({ env }, token, "--ca-file", ca, "--protocol", "grpc", "plugins")).code).toBe(0);
      expect((await plinth({ env: { ...env, PLINTH_CA_FILE: ca } }, token, "plugins")).code).toBe(0);
      // docs/security.md's two commands, as the page has them, beside the CA's ca.pem.
      const fromDoc = await runRunbook("cli-private-ca", { cwd: dir, env: { ...env, PLINTH_TOKEN: token } });
      expect(fromDoc.match(/test\.widget/g)).toHaveLength(2);
      // Without it the certificate is refused, and the CLI says so instead of an internal error.
      const untrusted = await plinth({ env }, token, "plugins");
      expect(untrusted.code).not.toBe(0);
      expect(untrusted.stderr).toMatch(/certificate/);
      expect(untrusted.stderr).toMatch(/--ca-file/);
      const notPem = await plinth({ env }, token, "--ca-file", join(dir, "san.ext"), "plugins");
      expect(notPem.code).toBe(2);
      expect(notPem.stderr).toContain("holds no PEM certificate");
      expect(readFileSync(ca, "utf8")).toContain("BEGIN CERTIFICATE");
    } finally {
      await service.close();
    }
  });

  it("fails over between URLs given as PLINTH_URL=a,b or a repeated --url", async () => {
    const service = await startTestService();
    try {
      const down = `http://127.0.0.1:${await closedPort()}`;
      const token = principals.requester.token;
      const fromEnv = await plinth({ env: { PLINTH_URL: `${down},${service.url}` } }, token, "plugins", "--json");
      expect(fromEnv.code).toBe(0);
      expect(fromEnv.stdout).toContain("test.widget");
      const fromFlags = await plinth({ env: {} }, token, "--url", down, "--url", service.url, "plugins");
      expect(fromFlags.code).toBe(0);
      // The same down server alone: unavailable after the retries.
      expect((await plinth({ env: { PLINTH_URL: down } }, token, "plugins")).code).toBe(7);
      expect((await plinth({ env: { PLINTH_URL: `${service.url},ftp://x` } }, token, "plugins")).code).toBe(2);
    } finally {
      await service.close();
    }
  });
});

describe("the SDK and the plinth CLI against the real server", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it.each(["connect", "grpc", "grpc-web"] as const)("applies and waits for a change over %s", async (protocol) => {
    const client = createPlinthClient({ baseUrl: service.url, token: principals.requester.token, protocol });
    const events: string[] = [];
    const applied = await client.apply("test.widget", `sdk-${protocol}`, { size: 2 });
    const final = await client.waitForChange(applied.change!.id, { onEvent: (event) => events.push(event.kind) });
    expect(final.status).toBe(ChangeStatus.SUCCEEDED);
    expect(events).toContain("engine");
    expect((await client.get("test.widget", `sdk-${protocol}`)).revision).toBe(1n);
  });

  it("surfaces field violations to SDK callers", async () => {
    const client = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const error = await client.apply("test.widget", "sdk-bad", { size: 0 }).catch((e: unknown) => e);
    expect(fieldViolations(error).map((v) => v.field)).toEqual(["spec.size"]);
    expect((error as { code: Code }).code).toBe(Code.InvalidArgument);
  });

  it("reads, approves, rejects and cancels changes with the SDK's helpers", async () => {
    const requester = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const reviewer = createPlinthClient({ baseUrl: service.url, token: principals.reviewer.token });
    const codeOf = (error: unknown) => ConnectError.from(error).code;
    // Widgets larger than 50 need a reviewer.
    const submitted = async (name: string) => (await requester.apply("test.widget", name, { size: 60 })).change!.id;

    const toApprove = await submitted("sdk-approved");
    expect((await requester.getChange(toApprove)).status).toBe(ChangeStatus.PENDING_REVIEW);
    // The same spec again (issue 29): the open change comes back, so there is always one to wait on.
    expect(await requester.apply("test.widget", "sdk-approved", { size: 60 })).toMatchObject({
      noOp: true,
      change: { id: toApprove, status: ChangeStatus.PENDING_REVIEW },
    });
    expect(codeOf(await requester.approve(toApprove).catch((e: unknown) => e))).toBe(Code.PermissionDenied);
    const approved = await reviewer.approve(toApprove, { comment: "fine" });
    expect(approved.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await requester.waitForChange(toApprove)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(codeOf(await reviewer.approve(toApprove).catch((e: unknown) => e))).toBe(Code.FailedPrecondition);

    const toReject = await submitted("sdk-rejected");
    expect((await reviewer.reject(toReject, "too large for now")).status).toBe(ChangeStatus.REJECTED);
    const toCancel = await submitted("sdk-cancelled");
    expect((await requester.cancel(toCancel, "not needed after all")).status).toBe(ChangeStatus.CANCELLED);
    expect(codeOf(await requester.getChange("no-such-change").catch((e: unknown) => e))).toBe(Code.NotFound);
  });

  it("returns results that print with JSON.stringify: enum names, int64 as strings, no $typeName", async () => {
    const client = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const applied = await client.apply("test.widget", "sdk-json", { size: 1 });
    const final = await client.waitForChange(applied.change!.id);
    const printed = JSON.parse(
      JSON.stringify({ applied, final, resource: await client.get("test.widget", "sdk-json") }),
    );
    expect(printed.applied.change.kind).toBe("CHANGE_KIND_CREATE");
    expect(printed.final.status).toBe("CHANGE_STATUS_SUCCEEDED");
    expect(printed.resource.revision).toBe("1");
    expect(JSON.parse(JSON.stringify(await client.getChange(final.id))).resultRevision).toBe("1");
    expect(JSON.stringify(final)).not.toContain("$typeName");
  });

  it("drives a review end to end with the CLI, with exit codes scripts can trust", async () => {
    const manifest = join(service.dataDir, "widget.yaml");
    writeFileSync(manifest, "type: test.widget\nname: cli-widget\nspec:\n  size: 3\n");
    const created = await plinth(service, principals.requester.token, "apply", "-f", manifest, "--wait", "--json");
    expect(created.code).toBe(0);

    const deletion = await plinth(service, principals.requester.token, "delete", "test.widget", "cli-widget", "--json");
    expect(deletion.code).toBe(0);
    const id = (JSON.parse(deletion.stdout) as { change: { id: string } }).change.id;

    const pending = await plinth(service, principals.reviewer.token, "changes", "--pending", "--json");
    expect(pending.stdout).toContain(id);
    expect((await plinth(service, principals.requester.token, "approve", id)).code).toBe(5);
    expect((await plinth(service, principals.reviewer.token, "approve", id, "-m", "ok")).code).toBe(0);
    expect((await plinth(service, principals.requester.token, "watch", id)).code).toBe(0);
    const history = await plinth(service, principals.requester.token, "history", "test.widget", "cli-widget", "--json");
    expect(history.stdout).toContain('"deleted": true');

    expect((await plinth(service, principals.requester.token, "get", "test.widget", "nope")).code).toBe(3);
    writeFileSync(manifest, "type: test.widget\nname: cli-bad\nspec:\n  size: 0\n");
    const invalid = await plinth(service, principals.requester.token, "apply", "-f", manifest);
    expect(invalid.code).toBe(4);
    expect(invalid.stderr).toContain("spec.size");
    expect((await plinth(service, "wrong-token", "list")).code).toBe(5);
  });
});
