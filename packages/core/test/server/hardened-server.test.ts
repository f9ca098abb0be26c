import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as http2Connect,
  constants as http2Constants,
} from "node:http2";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Interceptor, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { waitFor } from "@plinth/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/index.ts";
import { type TestService, principals, startTestService } from "../support/test-service.ts";

const services: TestService[] = [];
const sockets: Socket[] = [];
const sessions: ClientHttp2Session[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const session of sessions.splice(0)) session.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const service of services.splice(0)) await service.close();
});

async function start(config: Record<string, unknown>, dataDir?: string): Promise<TestService> {
  const service = await startTestService({ config, ...(dataDir && { dataDir }) });
  services.push(service);
  return service;
}

const authorize: Interceptor = (next) => async (req) => {
  req.header.set("authorization", `Bearer ${principals.requester.token}`);
  return await next(req);
};
const who = (baseUrl: string, options: { http2?: boolean; ca?: string } = {}) =>
  createClient(
    IdentityService,
    options.http2
      ? createGrpcTransport({
          baseUrl,
          ...(options.ca && { nodeOptions: { ca: options.ca } }),
          interceptors: [authorize],
        })
      : createConnectTransport({
          baseUrl,
          httpVersion: "1.1",
          ...(options.ca && { nodeOptions: { ca: options.ca } }),
          interceptors: [authorize],
        }),
  );

/** Opens a TCP connection that never sends a byte; resolves once connected. */
function idleSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.on("error", reject);
    // Reads (and drops) whatever comes, so the server's end of the connection is seen.
    socket.resume();
    sockets.push(socket);
  });
}

const closed = (socket: Socket) =>
  socket.closed || socket.destroyed
    ? Promise.resolve()
    : new Promise<void>((resolve) => socket.once("close", () => resolve()));

/** A plain HTTP/1.1 GET with the given headers: status and body. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("connection limits", { timeout: 120_000 }, () => {
  it("closes a connection that never sends a byte, and one that stops in the middle of its headers", async () => {
    const service = await start({ listen: { port: 0, limits: { firstByteTimeoutMs: 500, headersTimeoutMs: 500 } } });
    const silent = await idleSocket(service.port);
    await closed(silent);
    const slow = await idleSocket(service.port);
    slow.write("GET /metrics HTTP/1.1\r\nHost: localhost\r\n");
    await closed(slow);
    // The server itself still answers.
    expect(await who(service.url).whoAmI({})).toMatchObject({ id: principals.requester.id });
  });

  it("closes idle HTTP/1.1 keep-alive connections and HTTP/2 sessions with no open stream", async () => {
    const service = await start({ listen: { port: 0, limits: { idleTimeoutMs: 500 } } });
    const keepAlive = await idleSocket(service.port);
    keepAlive.write("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    await closed(keepAlive);

    const session = http2Connect(service.url);
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    await new Promise<void>((resolve) => session.once("close", () => resolve()));
  });

  it("keeps answering while thousands of idle sockets are open, holding at most maxConnections", async () => {
    const maxConnections = 200;
    // A long first-byte timeout: only the cap can make room.
    const service = await start({ listen: { port: 0, limits: { firstByteTimeoutMs: 600_000, maxConnections } } });
    const flood: Socket[] = [];
    for (let batch = 0; batch < 20; batch++) {
      flood.push(...(await Promise.all(Array.from({ length: 100 }, () => idleSocket(service.port)))));
    }
    expect(flood).toHaveLength(2_000);
    // The server answers over HTTP/1.1 and HTTP/2 in the middle of the flood.
    expect(await who(service.url).whoAmI({})).toMatchObject({ id: principals.requester.id });
    expect(await who(service.url, { http2: true }).whoAmI({})).toMatchObject({ id: principals.requester.id });
    // And it holds no more than its cap: the oldest silent ones were closed to make room.
    await waitFor(
      async () => {
        const open = flood.filter((socket) => !socket.closed && !socket.destroyed).length;
        if (open > maxConnections) throw new Error(`${open} flood sockets still open`);
        return open;
      },
      { what: "the server to close the flood down to its cap", timeoutMs: 60_000 },
    );
  });
});

/** Resolves with what `promise` gives, or rejects once `ms` have passed. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * The attacker of the half-open-streams test (argv: server URL, connections): holds that many
 * HTTP/2 sessions the server took (each has had the server's SETTINGS; one the server dropped before
 * that is opened again), then opens 10 WhoAmI streams on each with headers only and no token, prints
 * "SENT <n>" and waits. Holding every place first makes the outcome depend on the server alone, not
 * on whether the test's own earlier connection was gone yet.
 */
const attackScript = `
import { connect } from "node:http2";
const [url, connections] = process.argv.slice(-2);
const open = () => new Promise((resolve) => {
  const session = connect(url);
  session.on("error", () => undefined);
  session.once("remoteSettings", () => resolve(session));
  session.once("close", () => resolve(undefined));
});
const sessions = [];
while (sessions.length < Number(connections)) {
  const opened = await Promise.all(Array.from({ length: Number(connections) - sessions.length }, open));
  sessions.push(...opened.filter((session) => session !== undefined && !session.closed));
}
let sent = 0;
for (const session of sessions) {
  for (let i = 0; i < 10; i++) {
    const stream = session.request(
      { ":method": "POST", ":path": "/plinth.v1.IdentityService/WhoAmI", "content-type": "application/grpc", te: "trailers" },
      { endStream: false },
    );
    stream.on("error", () => undefined);
    stream.resume();
    sent++;
  }
}
console.log("SENT " + sent);
setTimeout(() => process.exit(0), 120_000);
`;

/** An HTTP/2 session to the server, connected. */
async function h2Session(url: string): Promise<ClientHttp2Session> {
  const session = http2Connect(url);
  sessions.push(session);
  session.on("error", () => undefined);
  await within(
    10_000,
    "HTTP/2 connect",
    new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("close", () => reject(new Error("session closed before it connected")));
    }),
  );
  return session;
}

/** Opens a WhoAmI stream whose body never comes: headers only, no END_STREAM. */
const halfOpen = (session: ClientHttp2Session, token?: string): ClientHttp2Stream => {
  const stream = session.request(
    {
      ":method": "POST",
      ":path": "/plinth.v1.IdentityService/WhoAmI",
      "content-type": "application/grpc",
      te: "trailers",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    { endStream: false },
  );
  stream.on("error", () => undefined);
  stream.resume();
  return stream;
};

describe("limits that hold before authentication", { timeout: 120_000 }, () => {
  it("answers an authenticated WhoAmI within 2 s while an unauthenticated client holds 1,000 half-open HTTP/2 streams", async () => {
    const maxConnections = 100;
    const service = await start({ listen: { port: 0, limits: { maxConnections, firstByteTimeoutMs: 600_000 } } });
    // A server that has answered before (the first call of a process compiles its code paths).
    // On a connection that closes after it, so the attacker can take every place.
    await new Promise<void>((resolve, reject) => {
      const call = httpRequest(
        {
          host: "127.0.0.1",
          port: service.port,
          method: "POST",
          path: "/plinth.v1.IdentityService/WhoAmI",
          agent: false,
          headers: {
            "content-type": "application/json",
            connection: "close",
            authorization: `Bearer ${principals.requester.token}`,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      call.on("error", reject);
      call.end("{}");
    });
    // The attacker is a process of its own, as it would be: 1,000 streams on as many connections as
    // the server takes, 10 on each, none with a token, none ever sending its body.
    const attacker = spawn(
      process.execPath,
      ["--input-type=module", "-e", attackScript, service.url, String(maxConnections)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.push(attacker);
    const sent = await within(
      30_000,
      "the attacker's streams",
      new Promise<string>((resolve, reject) => {
        attacker.stdout.setEncoding("utf8");
        attacker.stdout.on("data", (line: string) => line.startsWith("SENT") && resolve(line.trim()));
        attacker.once("exit", (code) => reject(new Error(`the attacker exited with ${code}`)));
      }),
    );
    expect(sent).toBe("SENT 1000");
    // Asked in the middle of the flood, on a connection of its own.
    const started = Date.now();
    const answer = await within(2_000, "authenticated WhoAmI", who(service.url, { http2: true }).whoAmI({}));
    expect(answer).toMatchObject({ id: principals.requester.id });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuses an unauthenticated request before its body arrives, on HTTP/1.1 and HTTP/2", async () => {
    const service = await start({});
    // HTTP/1.1: a body of 1,000 bytes announced and never sent.
    const socket = await idleSocket(service.port);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.write(
      "POST /plinth.v1.IdentityService/WhoAmI HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    // Answered at once, though the body has not come (the connection may stay, to discard it).
    await within(
      5_000,
      "HTTP/1.1 refusal",
      new Promise<void>((resolve) => {
        const check = () => answer.includes("unauthenticated") && resolve();
        socket.on("data", check);
        check();
      }),
    );
    expect(answer).toMatch(/^HTTP\/1.1 401 /);
    expect(answer).toContain('"code":"unauthenticated"');

    const session = await h2Session(service.url);
    const stream = halfOpen(session);
    const headers = await within(
      5_000,
      "HTTP/2 refusal",
      new Promise<Record<string, unknown>>((resolve) => stream.once("response", (h) => resolve(h))),
    );
    expect(headers["grpc-status"]).toBe("16");
    await within(5_000, "the refused stream to close", new Promise((resolve) => stream.once("close", resolve)));
  });

  it("lets a refused HTTP/1.1 client finish its small chunked body and keep its connection", async () => {
    // Connect's HTTP/1.1 client sends unary bodies chunked: a connection closed under it while it still writes
    // shows the CLI "write EPIPE" instead of the refusal.
    const service = await start({});
    const socket = await idleSocket(service.port);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    const answered = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => answer.includes(text) && resolve();
        socket.on("data", check);
        check();
      });
    socket.write(
      "POST /plinth.v1.IdentityService/WhoAmI HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
    );
    await within(5_000, "the refusal", answered('"code":"unauthenticated"'));
    expect(answer).toMatch(/^HTTP\/1.1 401 /);
    expect(answer).not.toMatch(/connection: close/i);
    socket.write("1\r\n}\r\n0\r\n\r\n");
    socket.write(
      `POST /plinth.v1.IdentityService/WhoAmI HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${principals.requester.token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    await within(5_000, "the next request on the same connection", answered(`"id":"${principals.requester.id}"`));
  });

  it("drops an authenticated request whose body does not arrive within requestTimeoutMs, on HTTP/1.1 and HTTP/2", async () => {
    const service = await start({ listen: { port: 0, limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } } });
    const socket = await idleSocket(service.port);
    socket.write(
      `POST /plinth.v1.IdentityService/WhoAmI HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${principals.requester.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    await within(10_000, "HTTP/1.1 request timeout", closed(socket));

    const session = await h2Session(service.url);
    const stream = halfOpen(session, principals.requester.token);
    await within(10_000, "HTTP/2 stream timeout", new Promise((resolve) => stream.once("close", resolve)));
    expect(stream.rstCode).toBe(http2Constants.NGHTTP2_CANCEL);
    // The connection itself stays usable.
    expect(await who(service.url, { http2: true }).whoAmI({})).toMatchObject({ id: principals.requester.id });
  });
});

describe("TLS and exposure", { timeout: 120_000 }, () => {
  it("serves HTTPS (HTTP/1.1 and HTTP/2) from the configured certificate and key files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-tls-"));
    try {
      const key = join(dir, "key.pem");
      const cert = join(dir, "cert.pem");
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
          ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
          ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        ],
        { stdio: "ignore" },
      );
      const service = await start({ listen: { port: 0, tls: { certFile: cert, keyFile: key } } });
      expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = execFileSync("cat", [cert], { encoding: "utf8" });
      expect(await who(service.url, { ca }).whoAmI({})).toMatchObject({ id: principals.requester.id });
      expect(await who(service.url, { ca, http2: true }).whoAmI({})).toMatchObject({ id: principals.requester.id });
      // Plain HTTP on the TLS port gets nowhere.
      await expect(who(service.url.replace("https:", "http:")).whoAmI({})).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("warns at start when it serves a non-loopback address without TLS or with an open /metrics", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "warn" },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    );
    const { listenOptions } = await import("../../src/server/listen-options.ts");
    const { parseServiceConfig } = await import("../../src/index.ts");
    const { testConfig } = await import("../support/test-service.ts");
    listenOptions(
      parseServiceConfig(testConfig("/nonexistent", { listen: { host: "0.0.0.0", port: 0 } }), "/"),
      logger,
    );
    expect(lines.join("")).toContain("WITHOUT TLS");
    expect(lines.join("")).toContain("/metrics is open");
    lines.length = 0;
    listenOptions(
      parseServiceConfig(testConfig("/nonexistent", { listen: { host: "127.0.0.1", port: 0 } }), "/"),
      logger,
    );
    expect(lines).toEqual([]);
  });

  it("answers on loopback only to loopback Host names, so a rebound DNS name cannot reach it", async () => {
    const service = await start({ listen: { port: 0 } });
    const auth = { authorization: `Bearer ${principals.requester.token}` };
    expect((await get(service.port, "/metrics", { host: `localhost:${service.port}` })).status).toBe(200);
    expect((await get(service.port, "/metrics", { host: `127.0.0.1:${service.port}` })).status).toBe(200);
    const rebound = await get(service.port, "/", { ...auth, host: `attacker.example:${service.port}` });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toContain("listen.allowedHosts");
    // The API too, not only the console.
    const api = await get(service.port, "/plinth.v1.IdentityService/WhoAmI", { ...auth, host: "attacker.example" });
    expect(api.status).toBe(421);

    const named = await start({ listen: { port: 0, allowedHosts: ["plinth.internal"] } });
    expect((await get(named.port, "/metrics", { host: `plinth.internal:${named.port}` })).status).toBe(200);
    expect((await get(named.port, "/metrics", { host: "localhost" })).status).toBe(421);
  });

  it("requires the metrics token on /metrics once one is configured", async () => {
    const service = await start({ listen: { port: 0 }, metrics: { tokenSha256: sha256Hex("scrape-token") } });
    const host = { host: "localhost" };
    expect((await get(service.port, "/metrics", host)).status).toBe(401);
    expect((await get(service.port, "/metrics", { ...host, authorization: "Bearer wrong" })).status).toBe(401);
    const scraped = await get(service.port, "/metrics", { ...host, authorization: "Bearer scrape-token" });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain("# HELP");
  });

  it("creates its data dir 0700", async () => {
    const parent = mkdtempSync(join(tmpdir(), "plinth-perm-"));
    try {
      const dataDir = join(parent, "data");
      const service = await start({ listen: { port: 0 } }, dataDir);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      await service.close();
      services.splice(services.indexOf(service), 1);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
