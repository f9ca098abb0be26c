import { describe, expect, it } from "vitest";
import { Code, ConnectError, createPlinthClient, isRetryableError } from "../src/index.ts";
import { createFakePlinth } from "./support/fake-plinth.ts";

function resetError(): ConnectError {
  // What connect-node reports when the server's socket is reset mid-call.
  const cause = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  return new ConnectError("socket hang up", Code.Aborted, undefined, undefined, cause);
}

describe("retry interceptor", () => {
  it.each([
    {
      reason: "UNAVAILABLE is retried up to maxAttempts",
      error: () => new ConnectError("down", Code.Unavailable),
      calls: 4,
    },
    {
      reason: "INVALID_ARGUMENT is the caller's mistake",
      error: () => new ConnectError("bad", Code.InvalidArgument),
      calls: 1,
    },
    {
      reason: "the server's ABORTED (revision mismatch) would fail again",
      error: () => new ConnectError("rev", Code.Aborted),
      calls: 1,
    },
    {
      reason: "PERMISSION_DENIED will not change",
      error: () => new ConnectError("no", Code.PermissionDenied),
      calls: 1,
    },
    { reason: "INTERNAL may not be safe to repeat", error: () => new ConnectError("bug", Code.Internal), calls: 1 },
  ])("$reason", async ({ error, calls }) => {
    const thrown = error();
    const fake = createFakePlinth({
      before: (method) => {
        if (method === "GetResource") {
          throw thrown;
        }
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: { sleep: async () => {} },
    });

    const result = await client.get("test.widget", "orders").catch((e: unknown) => e);

    expect(result).toBeInstanceOf(ConnectError);
    expect((result as ConnectError).code).toBe(thrown.code);
    expect(fake.callsOf("GetResource")).toHaveLength(calls);
  });

  it("backs off exponentially with full jitter, capped by maxDelayMs", async () => {
    const delays: number[] = [];
    const fake = createFakePlinth({
      before: () => {
        throw new ConnectError("down", Code.Unavailable);
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: {
        maxAttempts: 6,
        baseDelayMs: 100,
        maxDelayMs: 500,
        random: () => 0.5,
        sleep: async (ms) => void delays.push(ms),
      },
    });

    await expect(client.get("test.widget", "orders")).rejects.toThrow(ConnectError);

    // Half (random 0.5) of 100, 200, 400, then the 500 cap.
    expect(delays).toEqual([50, 100, 200, 250, 250]);
  });

  it("starts no attempt after totalTimeoutMs", async () => {
    let clock = 0;
    const fake = createFakePlinth({
      before: () => {
        throw new ConnectError("down", Code.Unavailable);
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: {
        maxAttempts: 100,
        baseDelayMs: 1000,
        maxDelayMs: 1000,
        totalTimeoutMs: 2500,
        random: () => 0.999,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
      },
    });

    await expect(client.get("test.widget", "orders")).rejects.toThrow(ConnectError);

    // Attempts at 0, ~999 and ~1998 ms; the next would start after 2500 ms.
    expect(fake.callsOf("GetResource")).toHaveLength(3);
  });

  it("is off with retry: false", async () => {
    const fake = createFakePlinth({
      before: () => {
        throw new ConnectError("down", Code.Unavailable);
      },
    });
    const client = createPlinthClient({ baseUrl: "http://unused", transport: fake.transport, retry: false });

    await expect(client.get("test.widget", "orders")).rejects.toThrow(ConnectError);

    expect(fake.callsOf("GetResource")).toHaveLength(1);
  });

  it("sends the bearer token on every attempt", async () => {
    let failures = 1;
    const fake = createFakePlinth({
      before: () => {
        if (failures-- > 0) {
          throw new ConnectError("down", Code.Unavailable);
        }
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
      retry: { sleep: async () => {} },
    });

    await client.plugins.listPlugins({});

    expect(fake.calls.map((call) => call.authorization)).toEqual(["Bearer requester-token", "Bearer requester-token"]);
  });
});

describe("isRetryableError", () => {
  it.each([
    { reason: "not a ConnectError", error: new Error("boom"), retryable: false },
    { reason: "UNAVAILABLE", error: new ConnectError("x", Code.Unavailable), retryable: true },
    { reason: "ABORTED from the server", error: new ConnectError("x", Code.Aborted), retryable: false },
    { reason: "ABORTED from a reset socket", error: resetError(), retryable: true },
    {
      reason: "DEADLINE_EXCEEDED: the request may still be running",
      error: new ConnectError("x", Code.DeadlineExceeded),
      retryable: false,
    },
  ])("$reason → $retryable", ({ error, retryable }) => {
    expect(isRetryableError(error)).toBe(retryable);
  });
});
