import { describe, expect, expectTypeOf, it } from "vitest";
import {
  ChangeKind,
  ChangeStatus,
  Code,
  ConnectError,
  createPlinthClient,
  type ApplyResourceRequest,
} from "../src/index.ts";
import { createFakePlinth } from "./support/fake-plinth.ts";
import type { WidgetSpec } from "./support/widget-spec.ts";

const noWait = { sleep: async () => {} };

describe("apply", () => {
  it("is typed by the ResourceTypes a plugin declares, and accepts any other type", () => {
    const client = createPlinthClient({ baseUrl: "http://unused", transport: createFakePlinth().transport });
    type AppliedSpec = Parameters<typeof client.apply<"test.widget">>[2];
    expectTypeOf<AppliedSpec>().toEqualTypeOf<WidgetSpec>();
    type OtherSpec = Parameters<typeof client.apply<"other.thing">>[2];
    expectTypeOf<OtherSpec>().toEqualTypeOf<Record<string, unknown>>();
    // Only compiled, never sent: these lines are what tsc checks.
    const compileOnly = () => [
      client.apply("test.widget", "w", { size: 1 }),
      // @ts-expect-error size must be a number for test.widget
      client.apply("test.widget", "w", { size: "big" }),
      client.apply("other.thing", "x", { anything: [1, 2] }),
      client.apply(String("computed.type"), "x", { anything: true }),
    ];
    expect(compileOnly).toBeTypeOf("function");
  });

  it("sends a fresh request_id per call and the spec as a JSON object", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });

    await client.apply("test.widget", "a", { size: 1 });
    await client.apply("test.widget", "b", { size: 2, fail: undefined });

    const requests = fake.callsOf("ApplyResource").map((call) => call.request as ApplyResourceRequest);
    expect(requests.map((r) => r.requestId)).toEqual([
      expect.stringMatching(/^[0-9a-f-]{36}$/),
      expect.stringMatching(/^[0-9a-f-]{36}$/),
    ]);
    expect(requests[0]?.requestId).not.toBe(requests[1]?.requestId);
    expect(requests[1]?.spec).toEqual({ size: 2 });
    expect(fake.calls.map((call) => call.authorization)).toEqual(["Bearer requester-token", "Bearer requester-token"]);
  });

  it("passes requestId, expectedRevision, comment and labels through", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });

    await client.apply(
      "test.widget",
      "a",
      { size: 1 },
      { requestId: "my-key", expectedRevision: 0, comment: "why", labels: { env: "dev" } },
    );

    expect(fake.callsOf("ApplyResource")[0]?.request).toMatchObject({
      requestId: "my-key",
      expectedRevision: 0n,
      comment: "why",
      labels: { env: "dev" },
    });
  });

  it("reuses its request_id across retries: two UNAVAILABLE then success make one change", async () => {
    let failures = 2;
    const fake = createFakePlinth({
      before: (method) => {
        if (method === "ApplyResource" && failures-- > 0) {
          throw new ConnectError("server restarting", Code.Unavailable);
        }
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: noWait,
    });

    const response = await client.apply("test.widget", "orders", { size: 3 });

    const ids = fake.callsOf("ApplyResource").map((call) => (call.request as ApplyResourceRequest).requestId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect(fake.changes.size).toBe(1);
    expect(response.change?.id).toBe("ch-1");
  });

  it("returns the original change, deduplicated, when only the response was lost", async () => {
    let lost = 1;
    const fake = createFakePlinth({
      after: (method) => {
        if (method === "ApplyResource" && lost-- > 0) {
          throw new ConnectError("connection dropped after commit", Code.Unavailable);
        }
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: noWait,
    });

    const response = await client.apply("test.widget", "orders", { size: 3 });

    expect(fake.callsOf("ApplyResource")).toHaveLength(2);
    expect(fake.changes.size).toBe(1);
    expect(response.deduplicated).toBe(true);
    expect(response.change?.id).toBe("ch-1");
  });
});

describe("delete and get", () => {
  it("get returns the resource and rejects with NOT_FOUND when there is none", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });
    await client.apply("test.widget", "orders", { size: 3 });

    const resource = await client.get("test.widget", "orders");
    const missing = await client.get("test.widget", "nope").catch((error: unknown) => error);

    expect(resource).toMatchObject({ type: "test.widget", name: "orders", revision: 1n, spec: { size: 3 } });
    expect(missing).toBeInstanceOf(ConnectError);
    expect((missing as ConnectError).code).toBe(Code.NotFound);
  });

  it("delete sends a request_id and creates a DELETE change", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });
    await client.apply("test.widget", "orders", { size: 3 });

    const response = await client.delete("test.widget", "orders", { comment: "unused" });

    expect(fake.callsOf("DeleteResource")[0]?.request).toMatchObject({
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      comment: "unused",
    });
    expect(response.change).toMatchObject({
      kind: ChangeKind.DELETE,
      status: ChangeStatus.PENDING_REVIEW,
      requiredApprovals: 1,
    });
  });
});
