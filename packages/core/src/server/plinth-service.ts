import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { LoadedConfig } from "../config/service-config.ts";
import type { Engine } from "../engine/engine.ts";
import { type Logger, createLogger } from "../observability/logger.ts";
import { type Metrics, createMetrics } from "../observability/metrics.ts";
import { loadPlugins } from "../plugin/load-plugins.ts";
import { type PluginRegistry, createPluginRegistry } from "../plugin/registry.ts";
import { createSecretBox } from "../secrets/secret-box.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { createReconciler } from "../worker/reconciler.ts";
import { createWorker } from "../worker/worker.ts";
import { createAuthInterceptor, createAuthenticator, requestContext } from "./auth.ts";
import { createChangeIdSource } from "./change-ids.ts";
import { createConsoleHandler, defaultConsoleDir } from "./console-assets.ts";
import { listen } from "./http-server.ts";
import { closeIfBodyUnread, rejectOversized } from "./reject-oversized.ts";
import { createObservingInterceptor } from "./interceptors.ts";
import { changeService } from "./services/change-service.ts";
import { identityService } from "./services/identity-service.ts";
import { pluginService } from "./services/plugin-service.ts";
import { resourceService } from "./services/resource-service.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { IdentityService } from "@plinth/sdk/gen/plinth/v1/identity_service_pb.ts";
import { PluginService } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";

export interface StartOptions {
  /** The engine that applies changes. `main.ts` always passes the Pulumi engine. */
  createEngine: (loaded: LoadedConfig, logger: Logger) => Engine;
  logger?: Logger;
  /** Run the worker in this process (default true). */
  worker?: boolean;
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
  const logger = options.logger ?? createLogger();
  const { store, notifier } = await openStore(loaded, logger);
  try {
    const plugins = createPluginRegistry(await loadPlugins(config.plugins, loaded.baseDir, logger));
    const metrics = createMetrics(store);
    const secrets = createSecretBox(config.secrets.key);
    const deps = {
      secrets,
      store,
      plugins,
      notifier,
      metrics,
      reviewPolicy: { approvals: config.review.approvals },
      now: () => new Date(),
      newId: createChangeIdSource(),
      watchPollMs: 1_000,
    };
    const engine = options.createEngine(loaded, logger);
    const worker = createWorker(
      { ...deps, engine, logger },
      { id: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, ...config.worker },
    );
    const reconciler = createReconciler({ ...deps, engine, logger }, config.reconcile);
    const authenticate = createAuthenticator(config.principals);
    const consoleDir =
      config.console.dir === undefined ? defaultConsoleDir() : resolve(loaded.baseDir, config.console.dir);
    const serveConsole = createConsoleHandler(consoleDir);
    const handler = connectNodeAdapter({
      routes: (router) => {
        router.service(ResourceService, resourceService(deps));
        router.service(ChangeService, changeService(deps));
        router.service(PluginService, pluginService(deps));
        router.service(IdentityService, identityService());
      },
      interceptors: [createObservingInterceptor(metrics, logger), createAuthInterceptor(authenticate)],
      contextValues: requestContext,
      readMaxBytes: maxRequestBytes,
      fallback: (req, res) => {
        if (req.url === "/healthz") {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("ok\n");
          return;
        }
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
    const server = await listen(
      (req, res) => {
        if (rejectOversized(req, res, maxRequestBytes)) return;
        closeIfBodyUnread(req, res);
        handler(req, res);
      },
      config.listen.host,
      config.listen.port,
    );
    if (options.worker !== false) {
      worker.start();
      reconciler.start();
    }
    const prune = setInterval(() => {
      const before = new Date(Date.now() - idempotencyKeyRetentionMs).toISOString();
      store
        .transact((tx) => tx.pruneIdempotencyKeys(before))
        .catch((error: unknown) => logger.warn({ err: error }, "pruning idempotency keys failed"));
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
        await server.close();
        await reconciler.stop();
        await worker.stop();
        await engine.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
