import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ChangeSetService } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { NotificationService } from "@plinth/sdk/gen/plinth/v1/notification_service_pb.ts";
import { PluginService } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { pino } from "pino";
import {
  type Engine,
  type ResolveHost,
  parseServiceConfig,
  sha256Hex,
  startPlinthService,
  type PlinthService,
} from "../../src/index.ts";

export const principals = {
  requester: { id: "alice", team: "payments", roles: ["requester"] as const, token: "token-alice" },
  teammate: { id: "amir", team: "payments", roles: ["requester"] as const, token: "token-amir" },
  outsider: { id: "olga", team: "search", roles: ["requester"] as const, token: "token-olga" },
  reviewer: { id: "rita", team: "platform", roles: ["reviewer"] as const, token: "token-rita" },
  reviewer2: { id: "raj", team: "platform", roles: ["reviewer", "requester"] as const, token: "token-raj" },
  admin: { id: "ada", team: "platform", roles: ["admin"] as const, token: "token-ada" },
};

export type PrincipalName = keyof typeof principals;

/** The config's `principals` for a test's cast of people (each with the token it signs in with). */
export function principalsConfig(
  people: Record<string, { id: string; team: string; roles: readonly string[]; token: string }> = principals,
) {
  return Object.values(people).map(({ token, roles, ...rest }) => ({
    ...rest,
    roles: [...roles],
    tokenSha256: sha256Hex(token),
  }));
}

export interface Clients {
  resources: Client<typeof ResourceService>;
  changes: Client<typeof ChangeService>;
  plugins: Client<typeof PluginService>;
  notifications: Client<typeof NotificationService>;
  changeSets: Client<typeof ChangeSetService>;
}

export function clientsFor(
  baseUrl: string,
  token: string | undefined,
  protocol: "connect" | "grpc" = "connect",
): Clients {
  const auth: Interceptor = (next) => async (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return await next(req);
  };
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors: [auth] })
      : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [auth] });
  return {
    resources: createClient(ResourceService, transport),
    changes: createClient(ChangeService, transport),
    plugins: createClient(PluginService, transport),
    notifications: createClient(NotificationService, transport),
    changeSets: createClient(ChangeSetService, transport),
  };
}

export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}) {
  return {
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    engine: { passphrase: "test-passphrase" },
    secrets: { key: "test-secret-key-0123456789" },
    principals: principalsConfig(),
    worker: {
      leaseMs: 2_000,
      pollMs: 50,
      retryBaseMs: 20,
      retryMaxMs: 100,
      maxAttempts: 3,
      verifyTimeoutMs: 2_000,
      // Tests that close a server mid-change want it handed over soon, not after the production 20 s.
      drainMs: 1_000,
    },
    plugins: [{ module: join(import.meta.dirname, "widget-plugin.ts"), export: "widgetPlugin" }],
    ...overrides,
    // The cast's reviewers are platform's, who review every team's changes; a test's own review rules add to that.
    review: { platformTeams: ["platform"], ...(overrides.review as Record<string, unknown> | undefined) },
  };
}

export interface TestService extends PlinthService {
  dataDir: string;
  as(name: PrincipalName): Clients;
}

/** A real Plinth server on a free port, with a fake engine by default, in a fresh data dir. */
export async function startTestService(
  options: {
    engine?: Engine;
    config?: Record<string, unknown>;
    dataDir?: string;
    leaseClock?: () => number;
    resolveHost?: ResolveHost;
    /** false: no worker, reconciler or webhook deliveries in this process. */
    worker?: boolean;
  } = {},
): Promise<TestService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "plinth-core-"));
  const { createFakeEngine } = await import("./fake-engine.ts");
  const engine = options.engine ?? createFakeEngine();
  const service = await startPlinthService(parseServiceConfig(testConfig(dataDir, options.config), dataDir), {
    createEngine: () => engine,
    logger: pino({ level: process.env.PLINTH_TEST_LOG ?? "silent" }),
    leaseClock: options.leaseClock,
    resolveHost: options.resolveHost,
    worker: options.worker,
  });
  return {
    ...service,
    dataDir,
    as: (name) => clientsFor(service.url, principals[name].token),
    close: async () => {
      await service.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
