import { Code } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure } from "../support/connect-helpers.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

describe("bad input gets a clear error and changes nothing", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it.each([
    { reason: "unknown type", request: { type: "nope.thing", name: "x", spec: {} }, fields: ["type"] },
    { reason: "empty name", request: { type: "test.widget", name: "", spec: { size: 1 } }, fields: ["name"] },
    { reason: "name with a slash", request: { type: "test.widget", name: "a/b", spec: { size: 1 } }, fields: ["name"] },
    { reason: "missing required field", request: { type: "test.widget", name: "x", spec: {} }, fields: ["spec.size"] },
    {
      reason: "wrong field type",
      request: { type: "test.widget", name: "x", spec: { size: "big" } },
      fields: ["spec.size"],
    },
    {
      reason: "out of range",
      request: { type: "test.widget", name: "x", spec: { size: 1000 } },
      fields: ["spec.size"],
    },
    {
      reason: "not an allowed value",
      request: { type: "test.widget", name: "x", spec: { size: 1, color: "pink" } },
      fields: ["spec.color"],
    },
    {
      reason: "unknown field",
      request: { type: "test.widget", name: "x", spec: { size: 1, shape: "round" } },
      fields: ["spec.shape"],
    },
    {
      reason: "request_id with spaces",
      request: { type: "test.widget", name: "x", spec: { size: 1 }, requestId: "a b" },
      fields: ["request_id"],
    },
  ] as {
    reason: string;
    request: { type: string; name: string; spec: JsonObject; requestId?: string };
    fields: string[];
  }[])("ApplyResource: $reason -> INVALID_ARGUMENT on $fields", async ({ request, fields }) => {
    const outcome = await failure(service.as("requester").resources.applyResource(request));
    expect(outcome.code).toBe(Code.InvalidArgument);
    expect(outcome.fields).toEqual(fields);
  });

  it("answers a bad name, a bad spec and a plugin rule in one reply, each with its reason (issue 22)", async () => {
    // size 95 passes the schema and breaks the widget's guardrail: the name and the schema do not hide it.
    const outcome = await failure(
      service.as("requester").resources.applyResource({
        type: "test.widget",
        name: "bad name!",
        spec: { size: -1, color: "pink", sise: 2 },
      }),
    );
    expect(outcome.code).toBe(Code.InvalidArgument);
    expect(outcome.violations).toEqual([
      { field: "name", reason: "INVALID_NAME", description: expect.stringContaining("1-253 characters") },
      { field: "spec.size", reason: "TOO_SMALL", description: "must be at least 1" },
      { field: "spec.color", reason: "INVALID_VALUE", description: 'must be one of: "blue", "red", "green"' },
      { field: "spec.sise", reason: "UNKNOWN_FIELD", description: 'is not a known field; did you mean "size"?' },
    ]);
    const guardrail = await failure(
      service.as("requester").resources.applyResource({ type: "test.widget", name: "bad name!", spec: { size: 95 } }),
    );
    expect(guardrail.violations.map((v) => [v.field, v.reason])).toEqual([
      ["name", "INVALID_NAME"],
      ["spec.size", "GUARDRAIL_SIZE"],
    ]);
  });

  it("suggests the type meant by a typo", async () => {
    const outcome = await failure(
      service.as("requester").resources.applyResource({ type: "test.widgte", name: "x", spec: { size: 1 } }),
    );
    expect(outcome.violations).toEqual([
      { field: "type", reason: "UNKNOWN_TYPE", description: expect.stringContaining('did you mean "test.widget"?') },
    ]);
  });

  it("persisted nothing for any of the bad requests", async () => {
    const { resources } = await service.as("requester").resources.listResources({});
    const { changes } = await service.as("requester").changes.listChanges({});
    expect(resources).toEqual([]);
    expect(changes).toEqual([]);
  });

  it.each([
    {
      reason: "page size over the limit",
      call: (s: TestService) => s.as("requester").changes.listChanges({ pageSize: 501 }),
      fields: ["page_size"],
    },
    {
      reason: "negative page size",
      call: (s: TestService) => s.as("requester").resources.listResources({ pageSize: -1 }),
      fields: ["page_size"],
    },
    {
      reason: "a page size and a finished_after past year 9999, both reported",
      call: (s: TestService) =>
        s
          .as("requester")
          .changes.listChanges({ pageSize: 501, finishedAfter: { seconds: 253_402_300_800n, nanos: 0 } }),
      fields: ["page_size", "finished_after"],
    },
    {
      reason: "a forged page token",
      call: (s: TestService) => s.as("requester").changes.listChanges({ pageToken: "garbage!" }),
      fields: ["page_token"],
    },
  ])("lists: $reason -> INVALID_ARGUMENT", async ({ call, fields }) => {
    const outcome = await failure(call(service));
    expect(outcome).toMatchObject({ code: Code.InvalidArgument, fields });
  });

  it.each([
    {
      reason: "unknown change",
      call: (s: TestService) => s.as("reviewer").changes.approveChange({ id: "chg_missing" }),
      code: Code.NotFound,
    },
    {
      reason: "unknown resource",
      call: (s: TestService) => s.as("requester").resources.getResource({ type: "test.widget", name: "ghost" }),
      code: Code.NotFound,
    },
    {
      reason: "deleting what does not exist",
      call: (s: TestService) => s.as("requester").resources.deleteResource({ type: "test.widget", name: "ghost" }),
      code: Code.NotFound,
    },
    {
      reason: "unknown plugin",
      call: (s: TestService) => s.as("requester").plugins.getPlugin({ type: "nope" }),
      code: Code.NotFound,
    },
  ])("$reason -> its own code, never INTERNAL", async ({ call, code }) => {
    expect((await failure(call(service))).code).toBe(code);
  });

  it("rejects a body over the size limit without a 500", async () => {
    const huge = { size: 1, blob: "x".repeat(5 * 1024 * 1024) };
    const outcome = await failure(
      service.as("requester").resources.applyResource({ type: "test.widget", name: "big", spec: huge }),
    );
    expect(outcome.code).toBe(Code.ResourceExhausted);
  });

  it("pages through lists with tokens", async () => {
    const alice = service.as("requester");
    for (const name of ["p1", "p2", "p3"]) {
      await alice.resources.applyResource({ type: "test.widget", name, spec: { size: 1 }, requestId: `page-${name}` });
    }
    const first = await alice.resources.listResources({ pageSize: 2 });
    const second = await alice.resources.listResources({ pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.resources, ...second.resources].map((r) => r.name)).toEqual(["p1", "p2", "p3"]);
    expect(second.nextPageToken).toBe("");
  });
});
