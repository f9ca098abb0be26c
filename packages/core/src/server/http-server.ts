import { type IncomingMessage, type ServerResponse, createServer as createHttp1Server } from "node:http";
import { type Http2ServerRequest, type Http2ServerResponse, createServer as createHttp2Server } from "node:http2";
import { type AddressInfo, type Socket, createServer as createNetServer } from "node:net";
import { Duplex } from "node:stream";

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

export interface ListeningServer {
  /** "http://host:port" */
  url: string;
  port: number;
  close(): Promise<void>;
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

/**
 * Serves one handler on one plain-TCP port for both HTTP/1.1 (Connect,
 * gRPC-Web, /metrics) and cleartext HTTP/2 (gRPC, Connect over h2c).
 * Node's http2 `allowHTTP1` only works over TLS, so the first bytes of each
 * connection decide: the HTTP/2 preface goes to the h2c server, the rest to HTTP/1.1.
 */
export async function listen(handler: Handler, host: string, port: number): Promise<ListeningServer> {
  const http1 = createHttp1Server(handler);
  const http2 = createHttp2Server({}, handler);
  const sockets = new Set<Socket>();
  const tcp = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < h2Preface.length && h2Preface.subarray(0, head.length).equals(head)) return;
      socket.off("data", onData);
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
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => resolve());
  });
  const address = tcp.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    close: async () => {
      await new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        http1.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
