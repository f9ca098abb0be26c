import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

/** The wire protocols one Plinth port serves. */
export type PlinthProtocol = "connect" | "grpc" | "grpc-web";

/**
 * A Node.js transport for `protocol`: Connect and gRPC-Web over HTTP/1.1
 * (what proxies and `curl` speak), gRPC over HTTP/2, as gRPC requires.
 */
export function createNodeTransport(options: {
  baseUrl: string;
  protocol: PlinthProtocol;
  interceptors: Interceptor[];
  /** PEM certificates to trust for an `https:` URL instead of Node's built-in list (a private CA). */
  ca?: string | Buffer | undefined;
}): Transport {
  const { baseUrl, interceptors } = options;
  const nodeOptions = options.ca === undefined ? {} : { nodeOptions: { ca: options.ca } };
  switch (options.protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors, ...nodeOptions });
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors, ...nodeOptions });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors, ...nodeOptions });
  }
}
