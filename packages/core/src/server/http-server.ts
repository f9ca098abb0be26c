import { type IncomingMessage, type ServerResponse, createServer as createHttp1Server } from "node:http";
import {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
  constants as http2Constants,
  createServer as createHttp2Server,
} from "node:http2";
import { type AddressInfo, type Socket, createServer as createNetServer } from "node:net";
import { Duplex } from "node:stream";
import { TLSSocket, createSecureContext } from "node:tls";

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

export interface ListeningServer {
  /** "http://host:port", or "https://…" with TLS */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long and how many: every connection is bounded, so idle or slow clients cannot pin the server. */
export interface ConnectionLimits {
  /** From accept to the first byte of a request (the TLS handshake included); then the connection is closed. */
  firstByteTimeoutMs: number;
  /** HTTP/1.1: from the first byte of a request to the end of its headers. */
  headersTimeoutMs: number;
  /**
   * From the first byte of a request (HTTP/1.1) or the opening of a stream (HTTP/2) to the end of
   * its body; then the request is dropped. A response may stream for longer (a watch does).
   */
  requestTimeoutMs: number;
  /** HTTP/1.1 keep-alive between requests, HTTP/2 a session with no open stream. */
  idleTimeoutMs: number;
  /** Open connections at once; at the cap, the oldest one that has not authenticated yet makes room. */
  maxConnections: number;
  /** HTTP/2 streams open at once on one connection (announced in SETTINGS). */
  maxStreamsPerConnection: number;
  /** HTTP/2 streams open at once on a connection that has not authenticated yet; more are refused (REFUSED_STREAM). */
  maxUnauthenticatedStreams: number;
}

export interface ListenOptions {
  host: string;
  port: number;
  limits: ConnectionLimits;
  /** PEM certificate chain and key: served over TLS (ALPN h2 and http/1.1) instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Whether a request carries valid credentials, from its headers alone. A connection that has
   * carried one is kept at the connection cap and its HTTP/2 streams are not capped further.
   */
  authenticated?: (req: IncomingMessage | Http2ServerRequest) => boolean | Promise<boolean>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0");

/**
 * The HTTP/2 server reads a net.Socket through its native handle, which would
 * skip bytes already read for sniffing; a JS stream that replays them first
 * works with any server.
 */
function replayingStream(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
    final: (callback) => {
      socket.end();
      callback();
    },
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  stream.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  return stream;
}

/** Closes an HTTP/2 session once it has had no open stream for `idleMs` (a quiet stream, e.g. a watch, keeps it). */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => session.close(), idleMs);
    timer.unref();
  };
  arm();
  session.on("stream", (stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      open--;
      if (open === 0) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
}

/**
 * Serves one handler on one port for both HTTP/1.1 (Connect, gRPC-Web,
 * /metrics) and HTTP/2 (gRPC, Connect over h2), in cleartext or over TLS.
 * Node's http2 `allowHTTP1` only works over TLS and skips the HTTP/1.1
 * server's timeouts, so the first bytes of each connection decide, in both
 * cases: the HTTP/2 preface goes to the HTTP/2 server, the rest to HTTP/1.1.
 */
export async function listen(handler: Handler, options: ListenOptions): Promise<ListeningServer> {
  const { limits } = options;
  const sockets = new Set<Socket>();
  /** Connections that have not authenticated yet, oldest first: the first to go at the cap. */
  const unproven = new Set<Socket>();
  /** The TCP socket under each HTTP/1.1 socket (TLS) and HTTP/2 session. */
  const rawOf = new WeakMap<object, Socket>();
  let routing: Socket | undefined;
  const unauthenticatedStreams = new WeakMap<Socket, number>();

  const guarded: Handler = (req, res) => {
    const h2 = "stream" in req ? req.stream : undefined;
    const raw = rawOf.get(h2 ? h2.session! : req.socket);
    const proof = raw && unproven.has(raw) ? options.authenticated?.(req) : false;
    if (typeof proof === "boolean" || proof === undefined) return admit(req, res, proof === true);
    proof.then(
      (proven) => admit(req, res, proven),
      () => admit(req, res, false),
    );
  };

  const admit = (req: IncomingMessage | Http2ServerRequest, res: Parameters<Handler>[1], proven: boolean): void => {
    const h2 = "stream" in req ? req.stream : undefined;
    const raw = rawOf.get(h2 ? h2.session! : req.socket);
    if (raw && unproven.has(raw) && proven) {
      unproven.delete(raw);
      // Proven: the session may now open as many streams as any client.
      h2?.session?.settings({ maxConcurrentStreams: limits.maxStreamsPerConnection });
    }
    if (h2 && raw) {
      if (unproven.has(raw)) {
        // Before authenticating, a connection gets a few streams, not the hundred a client is allowed.
        const open = unauthenticatedStreams.get(raw) ?? 0;
        if (open >= limits.maxUnauthenticatedStreams) {
          h2.close(http2Constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        unauthenticatedStreams.set(raw, open + 1);
        h2.once("close", () => unauthenticatedStreams.set(raw, (unauthenticatedStreams.get(raw) ?? 1) - 1));
      }
      // HTTP/1.1 has requestTimeout for this; an HTTP/2 stream gets its own timer until its body has arrived.
      if (!h2.endAfterHeaders) {
        const timer = setTimeout(() => h2.close(http2Constants.NGHTTP2_CANCEL), limits.requestTimeoutMs);
        timer.unref();
        const done = () => clearTimeout(timer);
        req.once("end", done);
        h2.once("close", done);
      }
    }
    handler(req, res);
  };

  const http1 = createHttp1Server(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // Node checks headersTimeout on this period (30 s by default): often enough that a short limit holds too.
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 2))),
    },
    guarded,
  );
  // The HTTP/1.1 server never listens itself (connections are handed to it), but its timeouts are
  // checked by a timer that starts on "listening": start it, and stop it in close().
  http1.emit("listening");
  const http2 = createHttp2Server({ settings: { maxConcurrentStreams: limits.maxStreamsPerConnection } }, guarded);
  http2.on("session", (session) => {
    // The server makes the session synchronously inside emit("connection"), while `routing` is set.
    if (routing) rawOf.set(session, routing);
    // Until it authenticates, a session is told it may open only a few streams at once (a client
    // that opens more gets REFUSED_STREAM from the protocol layer, before any handler runs).
    session.settings({ maxConcurrentStreams: limits.maxUnauthenticatedStreams });
    closeWhenIdle(session, limits.idleTimeoutMs);
  });
  const secureContext = options.tls && createSecureContext({ cert: options.tls.cert, key: options.tls.key });

  const route = (raw: Socket, socket: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < h2Preface.length && h2Preface.subarray(0, head.length).equals(head)) return;
      socket.off("data", onData);
      raw.setTimeout(0);
      if (head.subarray(0, h2Preface.length).equals(h2Preface)) {
        routing = raw;
        try {
          http2.emit("connection", replayingStream(socket, head));
        } finally {
          routing = undefined;
        }
        return;
      }
      rawOf.set(socket, raw);
      socket.pause();
      socket.unshift(head);
      http1.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
  };

  const tcp = createNetServer((raw) => {
    if (sockets.size >= limits.maxConnections) {
      const oldest = unproven.values().next().value;
      if (!oldest) {
        raw.destroy();
        return;
      }
      oldest.destroy();
    }
    sockets.add(raw);
    unproven.add(raw);
    raw.once("close", () => {
      sockets.delete(raw);
      unproven.delete(raw);
    });
    raw.on("error", () => raw.destroy());
    // Until the first request byte (and the TLS handshake before it), silence closes the connection.
    raw.setTimeout(limits.firstByteTimeoutMs, () => raw.destroy());
    if (!secureContext) {
      route(raw, raw);
      return;
    }
    const secure = new TLSSocket(raw, { isServer: true, secureContext, ALPNProtocols: ["h2", "http/1.1"] });
    secure.on("error", () => raw.destroy());
    secure.once("secure", () => route(raw, secure));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port, options.host, () => resolve());
  });
  const address = tcp.address() as AddressInfo;
  return {
    url: `${secureContext ? "https" : "http"}://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}`,
    port: address.port,
    close: async () => {
      await new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        http1.closeAllConnections();
        http1.close(() => undefined);
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
