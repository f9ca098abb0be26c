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
}): Transport {
  const { baseUrl, interceptors } = options;
  switch (options.protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  }
}
