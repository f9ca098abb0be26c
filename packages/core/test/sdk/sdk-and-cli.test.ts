import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ChangeStatus, Code, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../support/test-service.ts";

const execFileAsync = promisify(execFile);
const plinthBin = join(import.meta.dirname, "../../../sdk/bin/plinth.js");

/** Runs the real `plinth` executable against the test server. */
async function plinth(
  service: TestService,
  token: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [plinthBin, ...args], {
      env: { ...process.env, PLINTH_URL: service.url, PLINTH_TOKEN: token },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

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
