import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ensurePrivateDataDir } from "../config/private-data-dir.ts";
import type { LoadedConfig } from "../config/service-config.ts";
import type { Engine } from "../engine/engine.ts";
import { type Logger, createLogger } from "../observability/logger.ts";
import { type Metrics, createMetrics } from "../observability/metrics.ts";
import { loadPlugins } from "../plugin/load-plugins.ts";
import { type PluginRegistry, createPluginRegistry } from "../plugin/registry.ts";
import { checkSecretsKey } from "../secrets/check-secrets-key.ts";
import { createSecretBox } from "../secrets/secret-box.ts";
import { openStore } from "../store/open-store.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import type { Store } from "../store/store.ts";
import { type ReplicaBeats, startReplicaBeats } from "./replica-beats.ts";
import { createDeliveryLoop } from "../notifications/delivery-loop.ts";
import { resumeRecordingImports } from "../domain/record-import.ts";
import { notificationSettings } from "../notifications/notification-settings.ts";
import type { ResolveHost } from "../notifications/target-policy.ts";
import { checkStacksPresent } from "../worker/check-stacks-present.ts";
import { createReconciler } from "../worker/reconciler.ts";
import { trackForeground } from "../worker/track-foreground.ts";
import { createWorker } from "../worker/worker.ts";
import { createAuthInterceptor, createAuthenticator, requestContext } from "./auth.ts";
import { createEarlyAuthenticator } from "./authenticate-early.ts";
import { createDenyList, createDenyListChangeInterceptor, denyListMaxStalenessMs } from "./deny-list.ts";
import { createChangeIdSource } from "./change-ids.ts";
import { createConsoleHandler, defaultConsoleDir } from "./console-assets.ts";
import { type ServicePhase, answerHealth } from "./answer-health.ts";
import { createRequestGuard } from "./guard-request.ts";
import { listen } from "./http-server.ts";
import { listenOptions } from "./listen-options.ts";
import { closeIfBodyUnread, rejectOversized } from "./reject-oversized.ts";
import { createObservingInterceptor } from "./interceptors.ts";
import { createTokenVerifier } from "./oidc/token-verifier.ts";
import { changeService } from "./services/change-service.ts";
import { identityService } from "./services/identity-service.ts";
import { importService } from "./services/import-service.ts";
import { changeSetService } from "./services/change-set-service.ts";
import { notificationService } from "./services/notification-service.ts";
import { pluginService } from "./services/plugin-service.ts";
import { resourceService } from "./services/resource-service.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { ImportService } from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { ChangeSetService } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { NotificationService } from "@plinth/sdk/gen/plinth/v1/notification_service_pb.ts";
import { PluginService } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";

export interface StartOptions {
  /** The engine that applies changes. `main.ts` always passes the Pulumi engine. */
  createEngine: (loaded: LoadedConfig, logger: Logger, store: Store) => Engine;
  logger?: Logger;
  /** Run the worker in this process (default true). */
  worker?: boolean;
  /**
   * The SQLite store's lease clock (ms); monotonic unless given. Tests move it to make a lease lapse.
   * A PostgreSQL store leases on the database's clock, shared by all replicas.
   */
  leaseClock?: () => number;
  /**
   * The stacks the engine's state backend lists (`main.ts` reads them at start): the start is refused when
   * none of the store's applied resources has one. Not checked when absent.
   */
  pulumiStacks?: ReadonlySet<string>;
  /** How webhook host names resolve; the system resolver unless given. Tests map names to loopback with it. */
  resolveHost?: ResolveHost;
}

export interface PlinthService {
  url: string;
  port: number;
  store: Store;
  plugins: PluginRegistry;
  metrics: Metrics;
  /** Stops accepting requests, lets in-flight changes finish or park, closes the store. */
  close(): Promise<void>;
}

const maxRequestBytes = 4 * 1024 * 1024;
const idempotencyKeyRetentionMs = 48 * 3600_000;

export async function startPlinthService(loaded: LoadedConfig, options: StartOptions): Promise<PlinthService> {
  const { config, dataDir } = loaded;
  // One name per process, on every log line it writes and on its job claims: replicas' logs interleave.
  const replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const logger = (options.logger ?? createLogger()).child({ replica });
  ensurePrivateDataDir(dataDir);
  // Also with a PostgreSQL store: the data dir holds this replica's Pulumi work dirs.
  const dataDirLock = lockDataDir(dataDir);
  let phase: ServicePhase = "starting";
  let beats: ReplicaBeats | undefined;
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore(loaded, logger, options.leaseClock);
  } catch (error) {
    dataDirLock.release();
    throw error;
  }
  const { store, notifier } = opened;
  try {
    const loadedPlugins = await loadPlugins(config.plugins, loaded.baseDir, logger);
    const plugins = createPluginRegistry(loadedPlugins);
    const metrics = createMetrics(store);
    const secrets = createSecretBox(config.secrets.key, config.secrets.previousKeys);
    await checkSecretsKey(store, secrets);
    if (options.pulumiStacks) await checkStacksPresent(store, options.pulumiStacks);
    const notifications = notificationSettings(
      config,
      // Until the port is known: links in messages use consoleUrl when it is set, this address otherwise.
      `http://${config.listen.host}:${config.listen.port}`,
      secrets,
      options.resolveHost,
    );
    const deps = {
      secrets,
      store,
      plugins,
      notifier,
      notifications,
      metrics,
      reviewPolicy: { approvals: config.review.approvals, platformTeams: config.review.platformTeams },
      limits: config.limits,
      now: () => new Date(),
      newId: createChangeIdSource(),
      watchPollMs: 1_000,
    };
    if (options.worker !== false) {
      // Before any claim: other replicas judge the stack locks this one's engine takes by its beats.
      const identity = { replica, host: hostname(), pid: process.pid };
      beats = startReplicaBeats(store, identity, config.worker.leaseMs / 6, logger);
      await beats.first;
    }
    const engine = options.createEngine(loaded, logger, store);
    // The worker's operations, seen by the reconciler so that its drift checks wait for them.
    const foreground = trackForeground(engine);
    const worker = createWorker({ ...deps, engine: foreground.engine, logger }, { id: replica, ...config.worker });
    const reconciler = createReconciler(
      { ...deps, engine, logger, foreground: foreground.activity },
      {
        ...config.reconcile,
        engineConcurrency: config.engine.concurrency,
        // loadPlugins keeps the order of the config's entries.
        repair: Object.fromEntries(
          loadedPlugins.map((plugin, index) => [plugin.definition.type, config.plugins[index]?.repair ?? "report"]),
        ),
      },
    );
    const authenticate = createAuthenticator(
      config.principals,
      config.oidc && createTokenVerifier(config.oidc.issuers),
    );
    const denyList = createDenyList(() => store.listDenials(), { maxStalenessMs: denyListMaxStalenessMs });
    const consoleDir =
      config.console.dir === undefined ? defaultConsoleDir() : resolve(loaded.baseDir, config.console.dir);
    const serveConsole = createConsoleHandler(consoleDir, config.console.signIn, {
      review: {
        remindAfterMs: config.notifications.review.remindAfterMs,
        platformTeams: config.review.platformTeams,
      },
    });
    const handler = connectNodeAdapter({
      routes: (router) => {
        router.service(ResourceService, resourceService(deps));
        router.service(ChangeService, changeService(deps));
        router.service(PluginService, pluginService(deps));
        router.service(IdentityService, identityService(deps));
        router.service(NotificationService, notificationService(deps));
        router.service(ImportService, importService(deps));
        router.service(ChangeSetService, changeSetService(deps));
      },
      interceptors: [
        createObservingInterceptor(metrics, logger),
        createAuthInterceptor(authenticate, denyList.reasonFor),
        createDenyListChangeInterceptor(denyList),
      ],
      contextValues: requestContext,
      readMaxBytes: maxRequestBytes,
      fallback: (req, res) => {
        if (answerHealth(req, res, { store, phase: () => phase })) return;
        if (req.url === "/metrics") {
          metrics.registry.metrics().then(
            (body) => {
              res.writeHead(200, { "content-type": metrics.registry.contentType });
              res.end(body);
            },
            (error: unknown) => {
              logger.error({ err: error }, "metrics collection failed");
              res.writeHead(500);
              res.end();
            },
          );
          return;
        }
        if (serveConsole(req, res)) return;
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found: the API lives under /plinth.v1.*, the console under /\n");
      },
    });
    const guard = createRequestGuard({
      listenHost: config.listen.host,
      allowedHosts: config.listen.allowedHosts,
      metricsTokenSha256: config.metrics.tokenSha256,
    });
    const early = createEarlyAuthenticator(authenticate);
    const server = await listen(
      (req, res) => {
        if (guard(req, res)) return;
        const serve = (refused: boolean) => {
          if (refused || rejectOversized(req, res, maxRequestBytes)) return;
          closeIfBodyUnread(req, res);
          handler(req, res);
        };
        const refused = early.refuseUnauthenticated(req, res);
        if (typeof refused === "boolean") return serve(refused);
        refused.then(serve, (error: unknown) => {
          // Not a refusal: the identity provider could not be asked. The RPC layer answers it (UNAVAILABLE).
          logger.warn({ err: error }, "could not authenticate a request before its body");
          serve(false);
        });
      },
      { ...listenOptions(loaded, logger), authenticated: early.isAuthenticated },
    );
    if (config.notifications.consoleUrl === undefined) notifications.consoleUrl = server.url;
    const deliveries = createDeliveryLoop(
      { ...deps, logger: logger.child({ component: "notifications" }) },
      config.notifications.delivery,
    );
    // Imports approved but not wholly recorded (a server stopped mid-way) are finished: now, and every minute.
    let resuming: Promise<void> = Promise.resolve();
    const resumeImports = () => {
      resuming = resuming
        .then(() => resumeRecordingImports(deps, logger.child({ component: "imports" })))
        .catch((error: unknown) => logger.warn({ err: error }, "looking for imports to finish failed"));
    };
    const importResumer = setInterval(resumeImports, 60_000);
    importResumer.unref();
    if (options.worker !== false) {
      worker.start();
      reconciler.start();
      deliveries.start();
      resumeImports();
    } else clearInterval(importResumer);
    phase = "serving";
    const prune = setInterval(() => {
      const before = new Date(Date.now() - idempotencyKeyRetentionMs).toISOString();
      store
        .transact((tx) => tx.pruneIdempotencyKeys(before))
        .catch((error: unknown) => logger.warn({ err: error }, "pruning idempotency keys failed"));
      const finished = new Date(Date.now() - config.notifications.delivery.keepMs).toISOString();
      store
        .transact((tx) => tx.pruneDeliveries(finished))
        .catch((error: unknown) => logger.warn({ err: error }, "pruning finished webhook deliveries failed"));
    }, 3600_000);
    prune.unref();
    logger.info(
      { url: server.url, plugins: plugins.list().map((p) => p.definition.type), dataDir },
      "plinth is serving",
    );
    return {
      url: server.url,
      port: server.port,
      store,
      plugins,
      metrics,
      async close() {
        clearInterval(prune);
        clearInterval(importResumer);
        // Not ready from now on, but still answering while in-flight changes finish or park, so a
        // load balancer sees /readyz go 503 and stops sending before the port closes.
        phase = "stopping";
        await reconciler.stop();
        await deliveries.stop();
        await worker.stop();
        await resuming;
        await server.close();
        await engine.close();
        beats?.stop();
        await store.close();
        dataDirLock.release();
      },
    };
  } catch (error) {
    beats?.stop();
    await store.close();
    dataDirLock.release();
    throw error;
  }
}
