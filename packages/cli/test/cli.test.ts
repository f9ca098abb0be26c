import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode, PlanExitCode, runCli } from "../src/index.ts";
import { ChangeStatus, Code, ConnectError, createPlinthClient, type ListChangesRequest } from "@plinth/sdk";
import { captureIo } from "./support/capture-io.ts";
import { createFakePlinth, type FakePlinth, type FakePlinthOptions } from "../../sdk/test/support/fake-plinth.ts";
import type { WidgetSpec } from "../../sdk/test/support/widget-spec.ts";

const dir = mkdtempSync(join(process.env["PLINTH_TEST_TMP"] ?? tmpdir(), "plinth-cli-"));

function manifest(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const widgetYaml = manifest(
  "widget.yaml",
  `type: test.widget
name: orders
comment: first widget
labels:
  env: dev
spec:
  size: 3
`,
);

/** Submits a change straight through the SDK, as another user would. */
async function seed(fake: FakePlinth, name: string, spec: WidgetSpec) {
  const client = createPlinthClient({ baseUrl: "http://unused", token: "requester-token", transport: fake.transport });
  return (await client.apply("test.widget", name, spec)).change!;
}

async function run(argv: string[], options: FakePlinthOptions & { env?: Record<string, string>; stdin?: string } = {}) {
  const fake = createFakePlinth(options);
  const io = captureIo(fake, options);
  const code = await runCli(argv, io);
  return { code, fake, out: io.out(), err: io.err() };
}

describe("plinth apply", () => {
  it("applies a YAML manifest with its comment and labels", async () => {
    const { code, fake, out } = await run(["apply", "-f", widgetYaml]);

    expect(code).toBe(ExitCode.Ok);
    expect(out).toContain("ch-1");
    expect(fake.callsOf("ApplyResource")[0]?.request).toMatchObject({
      type: "test.widget",
      name: "orders",
      spec: { size: 3 },
      comment: "first widget",
      labels: { env: "dev" },
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it("reads a JSON manifest from stdin with -f -", async () => {
    const stdin = JSON.stringify({ type: "test.widget", name: "orders", spec: { size: 5 } });

    const { code, fake } = await run(["apply", "-f", "-"], { stdin });

    expect(code).toBe(ExitCode.Ok);
    expect(fake.callsOf("ApplyResource")[0]?.request).toMatchObject({ spec: { size: 5 } });
  });

  it("prints one JSON document with --json, int64 as strings", async () => {
    const { code, out } = await run(["apply", "-f", widgetYaml, "--json", "--request-id", "key-1"]);

    expect(code).toBe(ExitCode.Ok);
    const document = JSON.parse(out) as Record<string, Record<string, unknown>>;
    expect(document["change"]).toMatchObject({ id: "ch-1", status: "CHANGE_STATUS_APPROVED", baseRevision: "0" });
    expect(document["resource"]).toMatchObject({ name: "orders", revision: "0" });
    expect(document["deduplicated"]).toBe(false);
  });

  it("follows the change with --wait: progress on stderr, the final change on stdout", async () => {
    const { code, out, err } = await run(["apply", "-f", widgetYaml, "--wait", "--json"]);

    expect(code).toBe(ExitCode.Ok);
    expect(JSON.parse(out)).toMatchObject({ change: { status: "CHANGE_STATUS_SUCCEEDED", resultRevision: "1" } });
    expect(err).toContain("SUCCEEDED");
  });
});

describe("exit codes", () => {
  const invalidSpec = manifest("invalid.yaml", "type: test.widget\nname: orders\nspec:\n  size: 0\n");
  const badShape = manifest("bad-shape.yaml", "name: orders\nspec: [1, 2]\nextra: true\n");
  const failing = manifest("failing.yaml", "type: test.widget\nname: orders\nspec:\n  size: 1\n  fail: broker down\n");
  const cases: {
    reason: string;
    argv: string[];
    setup?: (fake: FakePlinth) => Promise<void>;
    options?: FakePlinthOptions & { env?: Record<string, string> };
    code: ExitCode;
    stderr?: string[];
  }[] = [
    { reason: "a resource that does not exist", argv: ["get", "test.widget", "nope"], code: ExitCode.NotFound },
    {
      reason: "a spec the server rejects prints each field violation",
      argv: ["apply", "-f", invalidSpec],
      code: ExitCode.InvalidArgument,
      stderr: ["  spec.size: must be an integer of at least 1"],
    },
    {
      reason: "a manifest of the wrong shape is rejected before any call",
      argv: ["apply", "-f", badShape],
      code: ExitCode.InvalidArgument,
      stderr: ["  type: ", "  spec: ", "  extra: "],
    },
    {
      reason: "reject requires a comment (server side)",
      argv: ["reject", "ch-1", "-m", ""],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1, review: true })),
      code: ExitCode.InvalidArgument,
      stderr: ["  comment: "],
    },
    {
      reason: "a requester cannot approve (its own) change",
      argv: ["approve", "ch-1"],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1, review: true })),
      code: ExitCode.PermissionDenied,
    },
    {
      reason: "no token is unauthenticated",
      argv: ["list"],
      options: { env: { PLINTH_TOKEN: "" } },
      code: ExitCode.PermissionDenied,
    },
    {
      reason: "another team's resource",
      argv: ["delete", "test.widget", "orders", "--token", "reviewer-token"],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1 })),
      code: ExitCode.PermissionDenied,
    },
    {
      reason: "an expected revision that does not match is a conflict",
      argv: ["apply", "-f", widgetYaml, "--expected-revision", "7"],
      code: ExitCode.Conflict,
    },
    {
      reason: "approving a change that is not pending is a conflict",
      argv: ["approve", "ch-1", "--token", "reviewer-token"],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1 })),
      code: ExitCode.Conflict,
    },
    {
      reason: "an unreachable server, after retries",
      argv: ["list"],
      options: {
        before: () => {
          throw new ConnectError("down", Code.Unavailable);
        },
      },
      code: ExitCode.Unavailable,
    },
    {
      reason: "a failed change with --wait",
      argv: ["apply", "-f", failing, "--wait"],
      code: ExitCode.ChangeNotSucceeded,
    },
    {
      reason: "watch of a failed change",
      argv: ["watch", "ch-1"],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1, fail: "broker down" })),
      code: ExitCode.ChangeNotSucceeded,
      stderr: ["broker down"],
    },
    {
      reason: "watch of a succeeded change",
      argv: ["watch", "ch-1"],
      setup: async (fake) => void (await seed(fake, "orders", { size: 1 })),
      code: ExitCode.Ok,
    },
    { reason: "an unknown command", argv: ["frobnicate"], code: ExitCode.Usage },
    { reason: "reject without -m", argv: ["reject", "ch-1"], code: ExitCode.Usage },
    { reason: "apply without -f", argv: ["apply"], code: ExitCode.Usage },
    {
      reason: "a manifest file that does not exist",
      argv: ["apply", "-f", join(dir, "missing.yaml")],
      code: ExitCode.Usage,
    },
    { reason: "an unknown status", argv: ["changes", "--status", "sleeping"], code: ExitCode.Usage },
    {
      reason: "a revision that is not a number",
      argv: ["revert", "test.widget", "a", "--to", "x"],
      code: ExitCode.Usage,
    },
    { reason: "--help", argv: ["--help"], code: ExitCode.Ok },
    { reason: "--prune needs a folder", argv: ["apply", "-f", widgetYaml, "--prune"], code: ExitCode.Usage },
    {
      reason: "a prune share outside 0 to 1",
      argv: ["apply", "-f", dir, "--prune", "--max-prune-share", "1.5"],
      code: ExitCode.Usage,
    },
    { reason: "export --all with --team", argv: ["export", "-o", dir, "--all", "--team", "x"], code: ExitCode.Usage },
    // plan exits like terraform plan -detailed-exitcode: 2 means changes, so its usage errors are 1.
    { reason: "plan with an unknown option", argv: ["plan", "-f", dir, "--bogus"], code: PlanExitCode.Error },
    { reason: "plan of a file, not a folder", argv: ["plan", "-f", widgetYaml], code: PlanExitCode.Error },
  ];

  it.each(cases)("$reason → $code", async ({ argv, setup, options, code, stderr }) => {
    const fake = createFakePlinth(options);
    await setup?.(fake);
    const io = captureIo(fake, options);

    expect(await runCli(argv, io)).toBe(code);
    for (const line of stderr ?? []) {
      expect(io.err()).toContain(line);
    }
    if (code !== ExitCode.Ok) {
      expect(io.err()).toMatch(/^error: /m);
    }
  });

  it("documents every exit code in the help epilog", async () => {
    const { out } = await run(["--help"]);

    for (const code of Object.values(ExitCode)) {
      expect(out).toMatch(new RegExp(`^  ${code} +\\S`, "m"));
    }
  });
});

describe("plinth changes and reviews", () => {
  it("changes --pending lists only the changes waiting for review", async () => {
    const fake = createFakePlinth();
    await seed(fake, "auto", { size: 1 });
    const pending = await seed(fake, "reviewed", { size: 1, review: true });
    const io = captureIo(fake);

    const code = await runCli(["changes", "--pending", "--json"], io);

    expect(code).toBe(ExitCode.Ok);
    expect((fake.callsOf("ListChanges")[0]?.request as ListChangesRequest).status).toBe(ChangeStatus.PENDING_REVIEW);
    const { changes } = JSON.parse(io.out()) as { changes: { id: string; status: string }[] };
    expect(changes).toEqual([expect.objectContaining({ id: pending.id, status: "CHANGE_STATUS_PENDING_REVIEW" })]);
  });

  it("changes prints a table for people", async () => {
    const fake = createFakePlinth();
    await seed(fake, "reviewed", { size: 1, review: true });
    const io = captureIo(fake);

    expect(await runCli(["changes"], io)).toBe(ExitCode.Ok);

    const [head, row] = io.out().split("\n");
    expect(head?.split(/\s{2,}/)).toEqual([
      "ID",
      "TYPE",
      "NAME",
      "KIND",
      "STATUS",
      "REQUESTED BY",
      "APPROVALS",
      "CREATED",
      "ASKS OTHER TEAMS",
    ]);
    expect(row?.split(/\s{2,}/).slice(0, 7)).toEqual([
      "ch-1",
      "test.widget",
      "reviewed",
      "CREATE",
      "PENDING_REVIEW",
      "alice",
      "0/1",
    ]);
  });

  it("approve by a reviewer lets the change run", async () => {
    const fake = createFakePlinth();
    const pending = await seed(fake, "orders", { size: 1, review: true });
    const io = captureIo(fake, { env: { PLINTH_TOKEN: "reviewer-token" } });

    const code = await runCli(["approve", pending.id, "-m", "looks fine", "--json"], io);

    expect(code).toBe(ExitCode.Ok);
    expect(JSON.parse(io.out())).toMatchObject({
      id: pending.id,
      status: "CHANGE_STATUS_APPROVED",
      reviews: [{ reviewer: "rita", decision: "REVIEW_DECISION_APPROVED", comment: "looks fine" }],
    });
    expect(fake.changes.get(pending.id)?.status).toBe(ChangeStatus.SUCCEEDED);
  });

  it.each([
    { command: "reject", status: ChangeStatus.REJECTED },
    { command: "cancel", status: ChangeStatus.CANCELLED },
  ])("$command -m records the decision", async ({ command, status }) => {
    const fake = createFakePlinth();
    const pending = await seed(fake, "orders", { size: 1, review: true });
    const io = captureIo(fake, { env: { PLINTH_TOKEN: "reviewer-token" } });

    expect(await runCli([command, pending.id, "-m", "not now"], io)).toBe(ExitCode.Ok);
    expect(fake.changes.get(pending.id)?.status).toBe(status);
  });

  it("retry re-queues a failed change", async () => {
    const fake = createFakePlinth({ outcome: (change) => ({ error: change.attempts === 0 ? "flaky" : undefined }) });
    const failed = await seed(fake, "orders", { size: 1 });
    const io = captureIo(fake);

    expect(await runCli(["retry", failed.id], io)).toBe(ExitCode.Ok);
    expect(fake.changes.get(failed.id)?.status).toBe(ChangeStatus.SUCCEEDED);
  });
});

describe("plinth resources", () => {
  async function twoRevisions() {
    const fake = createFakePlinth();
    await seed(fake, "orders", { size: 1 });
    await seed(fake, "orders", { size: 2, color: "red" });
    return fake;
  }

  it("get --json prints the resource", async () => {
    const fake = await twoRevisions();
    const io = captureIo(fake);

    expect(await runCli(["get", "test.widget", "orders", "--json"], io)).toBe(ExitCode.Ok);
    expect(JSON.parse(io.out())).toMatchObject({ name: "orders", revision: "2", status: "RESOURCE_STATUS_READY" });
  });

  it("list filters by status", async () => {
    const fake = await twoRevisions();
    const io = captureIo(fake);

    expect(await runCli(["list", "--status", "ready", "--team", "payments", "--json"], io)).toBe(ExitCode.Ok);
    expect(fake.callsOf("ListResources")[0]?.request).toMatchObject({ team: "payments", status: 2 });
    expect(JSON.parse(io.out())).toMatchObject({ resources: [{ name: "orders" }], nextPageToken: "" });
  });

  it("history lists the revisions", async () => {
    const fake = await twoRevisions();
    const io = captureIo(fake);

    expect(await runCli(["history", "test.widget", "orders", "--json"], io)).toBe(ExitCode.Ok);
    const { revisions } = JSON.parse(io.out()) as { revisions: { revision: string; changeId: string }[] };
    expect(revisions.map((r) => [r.revision, r.changeId])).toEqual([
      ["1", "ch-1"],
      ["2", "ch-2"],
    ]);
  });

  it.each<{ reason: string; argv: string[]; differences: unknown[] }>([
    {
      reason: "the latest revision against the one before by default",
      argv: [],
      differences: [
        { path: "color", op: "added", after: "red" },
        { path: "size", op: "changed", before: 1, after: 2 },
      ],
    },
    {
      reason: "explicit revisions, newer to older",
      argv: ["--from", "2", "--to", "1"],
      differences: [
        { path: "color", op: "removed", before: "red" },
        { path: "size", op: "changed", before: 2, after: 1 },
      ],
    },
    {
      reason: "a change against the current revision",
      argv: ["--change", "ch-3", "--requested"],
      differences: [{ path: "size", op: "changed", before: 2, after: 9 }],
    },
  ])("diff: $reason", async ({ argv, differences }) => {
    const fake = await twoRevisions();
    await seed(fake, "orders", { size: 9, color: "red", review: true });
    const io = captureIo(fake);

    expect(await runCli(["diff", "test.widget", "orders", "--json", ...argv], io)).toBe(ExitCode.Ok);
    const document = JSON.parse(io.out()) as { differences: unknown[] };
    expect(document.differences).toEqual(expect.arrayContaining(differences));
    expect(document.differences).toHaveLength(argv.includes("--change") ? 2 : differences.length);
  });

  it("revert --to N --wait goes back to that revision's spec", async () => {
    const fake = await twoRevisions();
    const io = captureIo(fake);

    expect(await runCli(["revert", "test.widget", "orders", "--to", "1", "--wait"], io)).toBe(ExitCode.Ok);
    expect(fake.resources.get("test.widget/orders")).toMatchObject({ revision: 3n, spec: { size: 1 } });
  });

  it("plugins and plugins get", async () => {
    const fake = createFakePlinth();
    const list = captureIo(fake);
    const get = captureIo(fake);

    expect(await runCli(["plugins"], list)).toBe(ExitCode.Ok);
    expect(await runCli(["plugins", "get", "test.widget", "--json"], get)).toBe(ExitCode.Ok);
    expect(list.out()).toMatch(/^test\.widget\s+1\.0\.0\s+a widget for tests$/m);
    expect(JSON.parse(get.out())).toMatchObject({ type: "test.widget", specSchema: { required: ["size"] } });
  });

  it("--token overrides PLINTH_TOKEN, with a warning that it shows in history and process listings", async () => {
    const fake = createFakePlinth();
    const io = captureIo(fake, { env: { PLINTH_TOKEN: "wrong" } });

    expect(await runCli(["plugins", "--token", "reviewer-token"], io)).toBe(ExitCode.Ok);
    expect(fake.calls[0]?.authorization).toBe("Bearer reviewer-token");
    expect(io.err()).toContain("warning: --token exposes the token");
    expect(io.err()).not.toContain("reviewer-token");
  });

  it("reads the token from --token-file or the file PLINTH_TOKEN_FILE names, without a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-token-"));
    const file = join(dir, "token");
    writeFileSync(file, "reviewer-token\n", { mode: 0o600 });
    const fake = createFakePlinth();
    const byOption = captureIo(fake, { env: { PLINTH_TOKEN: "wrong" } });
    expect(await runCli(["plugins", "--token-file", file], byOption)).toBe(ExitCode.Ok);
    const byEnv = captureIo(fake, { env: { PLINTH_TOKEN: "", PLINTH_TOKEN_FILE: file } });
    expect(await runCli(["plugins"], byEnv)).toBe(ExitCode.Ok);
    expect(fake.calls.map((call) => call.authorization)).toEqual(["Bearer reviewer-token", "Bearer reviewer-token"]);
    expect(byOption.err() + byEnv.err()).toBe("");

    const missing = captureIo(fake);
    expect(await runCli(["plugins", "--token-file", join(dir, "nope")], missing)).toBe(ExitCode.Usage);
    expect(missing.err()).toContain("--token-file: cannot read");
  });
});
