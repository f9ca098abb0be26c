import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ChangeSchema,
  ChangeStatus,
  Code,
  ConnectError,
  createPlinthClient,
  WatchChangeResponseSchema,
  type ChangeEvent,
  type WatchChangeRequest,
} from "../src/index.ts";
import { createFakePlinth } from "./support/fake-plinth.ts";

function response(sequence: number, status: ChangeStatus) {
  return create(WatchChangeResponseSchema, {
    event: { changeId: "ch-9", sequence: BigInt(sequence), status, kind: "status", message: `step ${sequence}` },
    change: create(ChangeSchema, { id: "ch-9", status }),
  });
}

describe("waitForChange", () => {
  it("follows the stream to SUCCEEDED, reporting every event in order", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });
    const { change } = await client.apply("test.widget", "orders", { size: 3 });
    const seen: ChangeEvent[] = [];

    const final = await client.waitForChange(change!.id, { onEvent: (event) => seen.push(event) });

    expect(final.status).toBe(ChangeStatus.SUCCEEDED);
    expect(final.resultRevision).toBe(1n);
    expect(seen.map((e) => e.sequence)).toEqual(fake.eventsOf(change!.id).map((r) => r.event?.sequence));
    expect(seen.at(-1)?.status).toBe(ChangeStatus.SUCCEEDED);
  });

  it("resolves with a FAILED change rather than rejecting", async () => {
    const fake = createFakePlinth();
    const client = createPlinthClient({
      baseUrl: "http://unused",
      token: "requester-token",
      transport: fake.transport,
    });
    const { change } = await client.apply("test.widget", "orders", { size: 3, fail: "broker unreachable" });

    const final = await client.waitForChange(change!.id);

    expect(final).toMatchObject({ status: ChangeStatus.FAILED, lastError: "broker unreachable" });
  });

  it("resumes after a dropped stream from the last sequence, without repeating events", async () => {
    const requests: WatchChangeRequest[] = [];
    const fake = createFakePlinth({
      changeService: {
        async *watchChange(req) {
          requests.push(req);
          if (requests.length === 1) {
            yield response(1, ChangeStatus.QUEUED);
            yield response(2, ChangeStatus.APPLYING);
            throw new ConnectError("server restarting", Code.Unavailable);
          }
          // A server may resend what the client has already seen.
          yield response(2, ChangeStatus.APPLYING);
          yield response(3, ChangeStatus.SUCCEEDED);
        },
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      transport: fake.transport,
      retry: { sleep: async () => {} },
    });
    const seen: bigint[] = [];

    const final = await client.waitForChange("ch-9", { onEvent: (event) => seen.push(event.sequence) });

    expect(final.status).toBe(ChangeStatus.SUCCEEDED);
    expect(requests.map((r) => r.afterSequence)).toEqual([0n, 2n]);
    expect(seen).toEqual([1n, 2n, 3n]);
  });

  it("asks GetChange when the stream ends before a final status", async () => {
    let watches = 0;
    const fake = createFakePlinth({
      changeService: {
        // eslint-disable-next-line require-yield -- a stream that ends at once, like a restarting proxy.
        async *watchChange() {
          watches++;
        },
        getChange: () => ({ change: create(ChangeSchema, { id: "ch-9", status: ChangeStatus.CANCELLED }) }),
      },
    });
    const client = createPlinthClient({ baseUrl: "http://unused", transport: fake.transport });

    const final = await client.waitForChange("ch-9");

    expect(final.status).toBe(ChangeStatus.CANCELLED);
    expect(watches).toBe(1);
  });

  it.each([
    { reason: "UNAVAILABLE every time gives up after maxAttempts", code: Code.Unavailable, watches: 4 },
    { reason: "PERMISSION_DENIED is not reconnected", code: Code.PermissionDenied, watches: 1 },
    { reason: "NOT_FOUND is not reconnected", code: Code.NotFound, watches: 1 },
  ])("$reason", async ({ code, watches }) => {
    let count = 0;
    const fake = createFakePlinth({
      changeService: {
        // eslint-disable-next-line require-yield -- fails before its first message.
        async *watchChange() {
          count++;
          throw new ConnectError("watch failed", code);
        },
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      transport: fake.transport,
      retry: { sleep: async () => {} },
    });

    const error = await client.waitForChange("ch-9").catch((e: unknown) => e);

    expect((error as ConnectError).code).toBe(code);
    expect(count).toBe(watches);
  });

  it("keeps reconnecting while each stream brings new events", async () => {
    let count = 0;
    const fake = createFakePlinth({
      changeService: {
        async *watchChange(req) {
          count++;
          const next = Number(req.afterSequence) + 1;
          yield response(next, next === 6 ? ChangeStatus.SUCCEEDED : ChangeStatus.APPLYING);
          throw new ConnectError("flaky proxy", Code.Unavailable);
        },
      },
    });
    const client = createPlinthClient({
      baseUrl: "http://unused",
      transport: fake.transport,
      retry: { sleep: async () => {} },
    });

    const final = await client.waitForChange("ch-9");

    // Six drops in a row, more than maxAttempts (4), but each one made progress.
    expect(final.status).toBe(ChangeStatus.SUCCEEDED);
    expect(count).toBe(6);
  });
});
