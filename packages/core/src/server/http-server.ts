import { type IncomingMessage, type ServerResponse, createServer as createHttp1Server } from "node:http";
import {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
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
  /** HTTP/1.1 keep-alive between requests, HTTP/2 a session with no open stream. */
  idleTimeoutMs: number;
  /** Open connections at once; at the cap, the oldest one that has not sent a byte yet makes room. */
  maxConnections: number;
  /** HTTP/2 streams open at once on one connection (announced in SETTINGS). */
  maxStreamsPerConnection: number;
}

export interface ListenOptions {
  host: string;
  port: number;
  limits: ConnectionLimits;
  /** PEM certificate chain and key: served over TLS (ALPN h2 and http/1.1) instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
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
  const http1 = createHttp1Server(
    {
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // Node checks headersTimeout on this period (30 s by default): often enough that a short limit holds too.
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 2))),
    },
    handler,
  );
  // The HTTP/1.1 server never listens itself (connections are handed to it), but its timeouts are
  // checked by a timer that starts on "listening": start it, and stop it in close().
  http1.emit("listening");
  const http2 = createHttp2Server({ settings: { maxConcurrentStreams: limits.maxStreamsPerConnection } }, handler);
  http2.on("session", (session) => closeWhenIdle(session, limits.idleTimeoutMs));
  const secureContext = options.tls && createSecureContext({ cert: options.tls.cert, key: options.tls.key });

  const sockets = new Set<Socket>();
  /** Accepted connections that have not sent a request byte yet, oldest first: the first to go at the cap. */
  const waiting = new Set<Socket>();

  const route = (raw: Socket, socket: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < h2Preface.length && h2Preface.subarray(0, head.length).equals(head)) return;
      socket.off("data", onData);
      waiting.delete(raw);
      raw.setTimeout(0);
      if (head.subarray(0, h2Preface.length).equals(h2Preface)) {
        http2.emit("connection", replayingStream(socket, head));
        return;
      }
      socket.pause();
      socket.unshift(head);
      http1.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
  };

  const tcp = createNetServer((raw) => {
    if (sockets.size >= limits.maxConnections) {
      const oldest = waiting.values().next().value;
      if (!oldest) {
        raw.destroy();
        return;
      }
      oldest.destroy();
    }
    sockets.add(raw);
    waiting.add(raw);
    raw.once("close", () => {
      sockets.delete(raw);
      waiting.delete(raw);
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
