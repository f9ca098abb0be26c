// The Plinth server process: `node --import tsx packages/core/src/main.ts --config <file>`.
// Always the real Pulumi engine; there is no other engine to choose here.
// `main.ts rekey --config <file>` instead seals every stored secret again with secrets.key (key rotation);
// `main.ts adopt-secrets --from <store>` adopts passwords the real systems accept from another store (after a restore).
import { parseArgs } from "node:util";
import { ConfigError, loadServiceConfig } from "./config/service-config.ts";
import { checkPulumiBackend } from "./engine/pulumi/check-pulumi-backend.ts";
import { createPulumiEngine } from "./engine/pulumi/create-pulumi-engine.ts";
import { resolveEngineSettings } from "./engine/pulumi/resolve-engine-settings.ts";
import { createLogger } from "./observability/logger.ts";
import { PluginLoadError } from "./plugin/load-plugins.ts";
import { rekeyStore } from "./secrets/rekey-store.ts";
import { adoptSecrets } from "./secrets/adopt-secrets.ts";
import { DataDirInUseError } from "./server/data-dir-lock.ts";
import { startPlinthService } from "./server/plinth-service.ts";
import { StartupCheckError } from "./server/startup-check-error.ts";
import { defaultPulumiBackend } from "./store/postgres/postgres-connection.ts";

// Everything the server and its children (the engine, the Pulumi CLI) write is for this user only:
// the store, Pulumi's state and work dirs hold encrypted secrets and their metadata.
process.umask(0o077);

const { values, positionals } = parseArgs({
  options: { config: { type: "string", short: "c" }, from: { type: "string" } },
  allowPositionals: true,
});
const command = positionals[0] ?? "serve";
const configFile = values.config ?? process.env.PLINTH_CONFIG;
const logger = createLogger();

if (!configFile) {
  process.stderr.write(
    "plinth: no config file: pass --config <file> or set PLINTH_CONFIG (see config/plinth.dev.yaml)\n",
  );
  process.exit(2);
}
if (command !== "serve" && command !== "rekey" && command !== "adopt-secrets") {
  process.stderr.write(`plinth: unknown command "${command}": "serve" (the default), "rekey" or "adopt-secrets"\n`);
  process.exit(2);
}
const adoptFrom = values.from ?? process.env.PLINTH_ADOPT_FROM;
if (command === "adopt-secrets" && !adoptFrom) {
  process.stderr.write(
    "plinth: adopt-secrets needs the store to adopt from: --from <postgres:// URL or path of a plinth.db>, or PLINTH_ADOPT_FROM\n",
  );
  process.exit(2);
}

try {
  const loaded = loadServiceConfig(configFile);
  if (command === "rekey") {
    const count = await rekeyStore(loaded, logger);
    process.stdout.write(
      `plinth: resealed ${count.resources} resources' secret outputs and ${count.subscriptions} subscriptions' secrets with secrets.key\n`,
    );
    process.exit(0);
  }
  if (command === "adopt-secrets") {
    const outcomes = await adoptSecrets(loaded, adoptFrom!, logger);
    for (const { type, name, adopted, why } of outcomes) {
      process.stdout.write(`plinth: ${adopted ? "adopted" : "not adopted"}: ${type} ${name}: ${why}\n`);
    }
    const left = outcomes.filter((outcome) => !outcome.adopted).length;
    process.stdout.write(
      `plinth: ${outcomes.length - left} adopted, ${left} still refused (repair those with plinth reconcile, reviewed)\n`,
    );
    process.exit(left === 0 ? 0 : 1);
  }
  if (process.env.PLINTH_PORT) loaded.config.listen.port = Number(process.env.PLINTH_PORT);
  const { config, dataDir } = loaded;
  const engineOptions = {
    dataDir,
    backendUrl: config.engine.backendUrl ?? defaultPulumiBackend(config),
    passphrase: config.engine.passphrase,
    concurrency: config.engine.concurrency,
    operationsPerChild: config.engine.operationsPerChild,
    // An engine child of a paused server stops its operation well before the lease lets another replica in.
    parentSilenceMs: Math.floor(config.worker.leaseMs / 2),
  };
  // Before the store and the listener: a replica that cannot use its state backend must not report ready.
  const pulumiStacks = await checkPulumiBackend(resolveEngineSettings(engineOptions));
  const service = await startPlinthService(loaded, {
    logger,
    pulumiStacks,
    createEngine: (_loaded, log, store) =>
      createPulumiEngine({
        ...engineOptions,
        logger: log.child({ component: "engine" }),
        replicaBeats: (host) => store.transact((tx) => tx.replicaBeats(host), { lane: "lease" }),
      }),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping: finishing or parking in-flight changes");
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  // Only once the handlers are in place: whoever reads this line may send SIGTERM at once.
  process.stdout.write(`plinth: serving on ${service.url} (Ctrl-C to stop)\n`);
} catch (error) {
  if (error instanceof ConfigError || error instanceof PluginLoadError) {
    process.stderr.write(`plinth: bad config ${configFile}: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof DataDirInUseError || error instanceof StartupCheckError) {
    process.stderr.write(`plinth: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
