// The load generator, in a process of its own so it never shares the server's
// event loop. The driver forks it once and sends it jobs over IPC. Each of the
// N client loops sends its next request as soon as the previous reply arrives
// (closed loop), over a keep-alive HTTP/1.1 connection of its own; latency is
// measured per call, from just before the request is written to the parsed reply.
//
// Two clients speak the same Connect protocol (unary POST, binary protobuf):
// - "raw" (default): pre-built HTTP/1.1 requests written straight to a socket
//   and a minimal response parser, so the load generator costs little CPU and
//   the server, not the client, is what saturates (like autocannon or wrk).
// - "connect": @connectrpc/connect-node's createConnectTransport({ httpVersion:
//   "1.1" }) with a shared keep-alive agent: what an SDK user runs, but about
//   as heavy per call as the bare server, so on 2 cores it caps the baseline.
import { Agent } from "node:http";
import { type Socket, connect } from "node:net";
import { performance } from "node:perf_hooks";
import {
  ApplyResourceRequestSchema,
  ApplyResourceResponseSchema,
  GetResourceRequestSchema,
  GetResourceResponseSchema,
  ResourceService,
} from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { benchPrincipal, widgetType } from "./common.ts";
import { ConnectError, create, createClient, createConnectTransport, fromBinary, toBinary } from "./deps.ts";

export type ClientKind = "raw" | "connect";

export interface LoadJob {
  kind: "load";
  /** One URL, or several separated by commas (replicas). */
  url: string;
  client: ClientKind;
  rpc: "apply" | "get";
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** apply: every call creates "<prefix>-<loop>-<i>" with a request_id of its own. */
  namePrefix: string;
  /** get: reads "<getPrefix>-<k>" for k in [0, getCount), round robin. */
  getPrefix?: string;
  getCount?: number;
  /** The bearer token every call sends; the static bench token when absent. */
  token?: string;
}

export interface SeedJob {
  kind: "seed";
  url: string;
  prefix: string;
  count: number;
  concurrency: number;
  token?: string;
}

export interface LoadResult {
  /** Good replies inside the measured window. */
  completed: number;
  /** Good replies in the whole run, warm-up and wind-down included. */
  total: number;
  errors: Record<string, number>;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Protobuf size of one reply, to compare the baseline's constant with the real thing. */
  replyBytes: number;
  /** Client loops still in a call 10 s after the window closed. */
  unfinished: number;
}

export type LoaderMessage =
  | { kind: "window"; phase: "start" | "end" }
  | { kind: "result"; result: LoadResult }
  | { kind: "seeded"; created: number; errors: Record<string, number> }
  | { kind: "failed"; message: string };

/** One client loop's way to make the two calls; throws on anything but a good reply. */
interface Caller {
  apply(name: string, size: number): Promise<void>;
  get(name: string): Promise<void>;
  close(): void;
}

// ---- the Connect client (what the SDK uses) ----------------------------------

function connectCallers(url: string, count: number, token: string, onReply: (bytes: number) => void): Caller[] {
  const agent = new Agent({ keepAlive: true, maxSockets: count, maxFreeSockets: count });
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "1.1",
    nodeOptions: { agent },
    interceptors: [
      (next) => async (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return await next(req);
      },
    ],
  });
  const client = createClient(ResourceService, transport);
  const caller: Caller = {
    async apply(name, size) {
      const reply = await client.applyResource({ type: widgetType, name, spec: { size }, requestId: `rq-${name}` });
      if (!reply.change || reply.deduplicated) throw new Error("apply recorded no new change");
      onReply(toBinary(ApplyResourceResponseSchema, reply).length);
    },
    async get(name) {
      const reply = await client.getResource({ type: widgetType, name });
      if (!reply.resource) throw new Error("get returned no resource");
      onReply(toBinary(GetResourceResponseSchema, reply).length);
    },
    close: () => agent.destroy(),
  };
  return Array.from({ length: count }, () => caller);
}

// ---- the raw client: one socket per loop, Connect unary by hand ---------------

class HttpError extends Error {}

class RawConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (body: Buffer) => void; reject: (error: Error) => void } | undefined;
  private readonly socket: Socket;

  constructor(
    private readonly host: string,
    port: number,
    private readonly headers: string,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = (error: Error) => {
      this.waiting?.reject(error);
      this.waiting = undefined;
    };
    this.socket.on("error", fail);
    this.socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  /** POSTs one Connect unary request; resolves with the body of a 200 reply. */
  call(path: string, body: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      const head = `POST ${path} HTTP/1.1\r\n${this.headers}content-length: ${body.length}\r\n\r\n`;
      this.socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const head = this.buffer.toString("latin1", 0, headerEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    const waiting = this.waiting;
    if (length === undefined) {
      this.waiting = undefined;
      waiting?.reject(new Error(`reply without content-length: ${head.split("\r\n")[0]}`));
      this.socket.destroy();
      return;
    }
    const end = headerEnd + 4 + Number(length);
    if (this.buffer.length < end) return;
    const body = this.buffer.subarray(headerEnd + 4, end);
    this.buffer = this.buffer.subarray(end);
    this.waiting = undefined;
    const status = head.slice(9, 12);
    if (status === "200") waiting?.resolve(body);
    else waiting?.reject(new HttpError(`HTTP ${status}: ${body.toString("utf8").slice(0, 120)}`));
  }

  close(): void {
    this.socket.destroy();
  }
}

function rawCallers(url: string, count: number, token: string, onReply: (bytes: number) => void): Caller[] {
  const { hostname, port } = new URL(url);
  const headers =
    `host: ${hostname}:${port}\r\ncontent-type: application/proto\r\nconnect-protocol-version: 1\r\n` +
    `authorization: Bearer ${token}\r\n`;
  const applyPath = `/${ResourceService.typeName}/${ResourceService.method.applyResource.name}`;
  const getPath = `/${ResourceService.typeName}/${ResourceService.method.getResource.name}`;
  let replies = 0;
  return Array.from({ length: count }, () => {
    const connection = new RawConnection(hostname, Number(port), headers);
    return {
      async apply(name, size) {
        const request = create(ApplyResourceRequestSchema, {
          type: widgetType,
          name,
          spec: { size },
          requestId: `rq-${name}`,
        });
        const body = await connection.call(applyPath, toBinary(ApplyResourceRequestSchema, request));
        // Every reply is a 200 with a protobuf body; decode and check one in 16 of them.
        if (replies++ % 16 === 0) {
          const reply = fromBinary(ApplyResourceResponseSchema, body);
          if (!reply.change || reply.deduplicated) throw new Error("apply recorded no new change");
          onReply(body.length);
        }
      },
      async get(name) {
        const body = await connection.call(
          getPath,
          toBinary(GetResourceRequestSchema, create(GetResourceRequestSchema, { type: widgetType, name })),
        );
        if (replies++ % 16 === 0) {
          if (!fromBinary(GetResourceResponseSchema, body).resource) throw new Error("get returned no resource");
          onReply(body.length);
        }
      },
      close: () => connection.close(),
    };
  });
}

// ---- the load ------------------------------------------------------------------

/** `urls`: one URL, or several (replicas) separated by commas; the loops are dealt out among them. */
function spread(urls: string, count: number, make: (url: string, count: number) => Caller[]): Caller[] {
  const list = urls.split(",");
  const per = list.map((url, i) => make(url, Math.floor(count / list.length) + (i < count % list.length ? 1 : 0)));
  return Array.from({ length: count }, (_, i) => per[i % list.length]![Math.floor(i / list.length)]!);
}

function errorCode(error: unknown): string {
  if (error instanceof ConnectError) return `${error.code}:${error.rawMessage.slice(0, 80)}`;
  return error instanceof Error ? error.message.slice(0, 120) : String(error);
}

/** Nearest-rank percentile of a sorted array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

function send(message: LoaderMessage): void {
  process.send?.(message);
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  let replyBytes = 0;
  const onReply = (bytes: number) => (replyBytes = bytes);
  const callers = spread(job.url, job.concurrency, (url, count) =>
    (job.client === "raw" ? rawCallers : connectCallers)(url, count, job.token ?? benchPrincipal.token, onReply),
  );
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let total = 0;
  const errors: Record<string, number> = {};
  let measuring = false;
  let stopping = false;
  let getCursor = 0;

  const loop = async (index: number): Promise<void> => {
    const caller = callers[index]!;
    for (let i = 0; !stopping; i++) {
      const started = performance.now();
      try {
        if (job.rpc === "apply") await caller.apply(`${job.namePrefix}-${index}-${i}`, 1 + (i % 50));
        else await caller.get(`${job.getPrefix}-${getCursor++ % (job.getCount ?? 1)}`);
        total++;
        if (!measuring) continue;
        if (count === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[count++] = performance.now() - started;
      } catch (error) {
        if (measuring) errors[errorCode(error)] = (errors[errorCode(error)] ?? 0) + 1;
        // An error that comes back at once must not turn the loop into a busy spin.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };

  const loops = Array.from({ length: job.concurrency }, (_, index) => loop(index));
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  send({ kind: "window", phase: "start" });
  const windowStart = performance.now();
  measuring = true;
  await new Promise((resolve) => setTimeout(resolve, job.durationMs));
  measuring = false;
  const windowMs = performance.now() - windowStart;
  send({ kind: "window", phase: "end" });
  stopping = true;
  let unfinished = job.concurrency;
  const settled = Promise.allSettled(loops.map((l) => l.finally(() => unfinished--)));
  await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  for (const caller of new Set(callers)) caller.close();

  const sorted = latencies.subarray(0, count).sort();
  return {
    completed: count,
    total,
    errors,
    rps: count / (windowMs / 1000),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    replyBytes,
    unfinished,
  };
}

/** Creates `count` resources "<prefix>-<k>" for the GetResource runs. */
async function seed(job: SeedJob): Promise<{ created: number; errors: Record<string, number> }> {
  const callers = spread(job.url, job.concurrency, (url, count) =>
    rawCallers(url, count, job.token ?? benchPrincipal.token, () => {}),
  );
  let next = 0;
  let created = 0;
  const errors: Record<string, number> = {};
  await Promise.all(
    callers.map(async (caller) => {
      for (let k = next++; k < job.count; k = next++) {
        try {
          await caller.apply(`${job.prefix}-${k}`, 10);
          created++;
        } catch (error) {
          errors[errorCode(error)] = (errors[errorCode(error)] ?? 0) + 1;
        }
      }
    }),
  );
  for (const caller of callers) caller.close();
  return { created, errors };
}

process.on("message", (message: LoadJob | SeedJob) => {
  const work =
    message.kind === "load"
      ? runLoad(message).then((result) => send({ kind: "result", result }))
      : seed(message).then((outcome) => send({ kind: "seeded", ...outcome }));
  work.catch((error: unknown) => send({ kind: "failed", message: String((error as Error).stack ?? error) }));
});
process.on("disconnect", () => process.exit(0));
