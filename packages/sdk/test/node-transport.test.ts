import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  Code,
  ConnectError,
  createPlinthClient,
  type ApplyResourceRequest,
  type PlinthProtocol,
} from "../src/index.ts";
import { createFakePlinth, type FakePlinth } from "./support/fake-plinth.ts";

// The fake services behind a real loopback socket, so the client's own
// connect-node transports, not an injected one, are what is tested here.
const servers: (Server | Http2Server)[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Listening {
  baseUrl: string;
  /** HTTP requests received, reset ones included. */
  requests: () => number;
}

async function listen(fake: FakePlinth, options: { http2?: boolean; resetFirst?: number } = {}): Promise<Listening> {
  let resets = options.resetFirst ?? 0;
  let requests = 0;
  const adapter = connectNodeAdapter({ routes: fake.routes });
  const server = options.http2
    ? createHttp2Server(adapter)
    : createHttpServer((req, res) => {
        requests++;
        if (resets-- > 0) {
          // The server dies mid-request: the client sees a reset socket.
          req.socket.destroy();
          return;
        }
        adapter(req, res);
      });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe("network transports", () => {
  it.each<{ protocol: PlinthProtocol; http2: boolean }>([
    { protocol: "connect", http2: false },
    { protocol: "grpc-web", http2: false },
    { protocol: "grpc", http2: true },
  ])("$protocol applies and reads back a resource", async ({ protocol, http2 }) => {
    const fake = createFakePlinth();
    const { baseUrl } = await listen(fake, { http2 });
    const client = createPlinthClient({ baseUrl, token: "requester-token", protocol });

    await client.apply("test.widget", "orders", { size: 3 });
    const resource = await client.get("test.widget", "orders");

    expect(resource.revision).toBe(1n);
    expect(fake.calls.map((call) => call.authorization)).toEqual(["Bearer requester-token", "Bearer requester-token"]);
  });

  it("retries an apply whose connection was reset, with the same request_id", async () => {
    const fake = createFakePlinth();
    const { baseUrl, requests } = await listen(fake, { resetFirst: 2 });
    const client = createPlinthClient({
      baseUrl,
      token: "requester-token",
      retry: { sleep: async () => {} },
    });

    const response = await client.apply("test.widget", "orders", { size: 3 });

    expect(response.change?.id).toBe("ch-1");
    expect(fake.changes.size).toBe(1);
    const ids = fake.callsOf("ApplyResource").map((call) => (call.request as ApplyResourceRequest).requestId);
    expect(requests()).toBe(3);
    expect(ids).toHaveLength(1);
  });

  it("reports a refused connection as UNAVAILABLE after its retries", async () => {
    const fake = createFakePlinth();
    const { baseUrl } = await listen(fake);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    let sleeps = 0;
    const client = createPlinthClient({ baseUrl, retry: { sleep: async () => void sleeps++ } });

    const error = await client.plugins.listPlugins({}).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect(sleeps).toBe(3);
  });

  it("with several base URLs, retries a call that cannot reach one replica on the next", async () => {
    // Two replicas in front of one shared store: one fake behind two sockets.
    const fake = createFakePlinth();
    const down = await listen(fake);
    const up = await listen(fake);
    await new Promise((resolve) => servers.shift()?.close(resolve));
    const client = createPlinthClient({
      baseUrl: [down.baseUrl, up.baseUrl],
      token: "requester-token",
      retry: { sleep: async () => {} },
    });

    await client.apply("test.widget", "orders", { size: 3 });
    const resource = await client.get("test.widget", "orders");

    expect(resource.revision).toBe(1n);
    // The client stays on the replica that answered: the second call did not try the stopped one first.
    expect(up.requests()).toBe(2);
  });

  it("with several base URLs, a reset apply is retried on the next replica with the same request_id", async () => {
    const fake = createFakePlinth();
    const dying = await listen(fake, { resetFirst: 1 });
    const other = await listen(fake);
    const client = createPlinthClient({
      baseUrl: [dying.baseUrl, other.baseUrl],
      token: "requester-token",
      retry: { sleep: async () => {} },
    });

    const response = await client.apply("test.widget", "orders", { size: 3 });

    expect(response.change?.id).toBe("ch-1");
    expect(fake.changes.size).toBe(1);
    expect([dying.requests(), other.requests()]).toEqual([1, 1]);
  });
});
