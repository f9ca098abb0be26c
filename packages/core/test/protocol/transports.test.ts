import { join } from "node:path";
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { type TestService, clientsFor, startTestService } from "../support/test-service.ts";

const protoRoot = join(import.meta.dirname, "../../../../proto");

describe("one port serves Connect, gRPC, gRPC-Web, /healthz and /metrics", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "wire",
      spec: { size: 7 },
      requestId: "wire",
    });
    await watchToEnd(alice, created.change!.id);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("answers plain Connect JSON over HTTP/1.1, as curl would send it", async () => {
    const response = await fetch(`${service.url}/plinth.v1.ResourceService/GetResource`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer token-alice" },
      body: JSON.stringify({ type: "test.widget", name: "wire" }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { resource: { revision: string; resolvedSpec: unknown } };
    expect(body.resource.revision).toBe("1");
    expect(body.resource.resolvedSpec).toEqual({ size: 7, color: "blue" });
  });

  it("answers a Connect JSON error with its code and field violations", async () => {
    const response = await fetch(`${service.url}/plinth.v1.ResourceService/ApplyResource`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer token-alice" },
      body: JSON.stringify({ type: "test.widget", name: "wire", spec: { size: "seven" } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; details: { type: string; debug?: unknown }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.details[0]?.type).toBe("google.rpc.BadRequest");
  });

  it("serves gRPC over h2c to Connect's gRPC transport", async () => {
    const { resource } = await clientsFor(service.url, "token-alice", "grpc").resources.getResource({
      type: "test.widget",
      name: "wire",
    });
    expect(resource?.revision).toBe(1n);
  });

  it("serves gRPC-Web", async () => {
    const client = createClient(
      ResourceService,
      createGrpcWebTransport({
        baseUrl: service.url,
        httpVersion: "1.1",
        interceptors: [(next) => (req) => (req.header.set("authorization", "Bearer token-alice"), next(req))],
      }),
    );
    const { resource } = await client.getResource({ type: "test.widget", name: "wire" });
    expect(resource?.name).toBe("wire");
  });

  it("serves a gRPC client that knows nothing of Connect (@grpc/grpc-js with the .proto files)", async () => {
    const definition = loadSync("plinth/v1/resource_service.proto", {
      includeDirs: [protoRoot],
      longs: String,
      defaults: true,
    });
    const grpcPackage = loadPackageDefinition(definition) as unknown as {
      plinth: {
        v1: {
          ResourceService: new (
            address: string,
            creds: ReturnType<typeof credentials.createInsecure>,
          ) => {
            GetResource(
              request: object,
              metadata: Metadata,
              callback: (
                error: ServiceError | null,
                response: { resource: { name: string; revision: string } },
              ) => void,
            ): void;
            close(): void;
          };
        };
      };
    };
    const client = new grpcPackage.plinth.v1.ResourceService(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set("authorization", "Bearer token-alice");
    try {
      const response = await new Promise<{ resource: { name: string; revision: string } }>((resolve, reject) =>
        client.GetResource({ type: "test.widget", name: "wire" }, metadata, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
      expect(response.resource).toMatchObject({ name: "wire", revision: "1" });
      const denied = await new Promise<ServiceError>((resolve) =>
        client.GetResource({ type: "test.widget", name: "wire" }, new Metadata(), (error) => resolve(error!)),
      );
      expect(denied.code).toBe(16); // UNAUTHENTICATED
    } finally {
      client.close();
    }
  });

  it("serves /healthz and Prometheus /metrics without a token", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    for (const name of [
      "plinth_rpc_requests_total",
      'plinth_changes{status="SUCCEEDED"}',
      "plinth_queue_depth",
      "plinth_queue_oldest_age_seconds",
      "plinth_apply_duration_seconds_bucket",
      "plinth_change_retries_total",
    ]) {
      expect(metrics).toContain(name);
    }
  });
});
