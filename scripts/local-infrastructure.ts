// What `make start` and `make start-cluster` both run beside Plinth: a Kafka broker with SASL/SCRAM and
// ACLs (as a real cluster has, so kafka.user works; Plinth logs in as its super user), a throwaway
// PostgreSQL server, a schema registry (Apicurio, in memory), and a Prometheus scraping the broker and Plinth. Also how a Plinth server is started
// against them, so the two scripts differ only in how many servers they run and which store those share.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import {
  type DevIdp,
  type KafkaBroker,
  type PostgresServer,
  type PrometheusServer,
  type SchemaRegistry,
  type ScrapeTarget,
  formattedWithoutScram,
  repoRoot,
  startDevIdp,
  startKafka,
  startPostgres,
  startPrometheus,
  startSchemaRegistry,
} from "../packages/testing/src/index.ts";

export interface LocalInfrastructureOptions {
  dataDir: string;
  /** Plinth's metrics targets for Prometheus, e.g. `{ job: "plinth", target: "127.0.0.1:8080" }`. */
  plinthTargets: ScrapeTarget[];
  /** What to do with a broker data dir formatted before SASL/SCRAM: format it again, or stop and say so. */
  scramlessData: "reformat" | "refuse";
}

export interface LocalInfrastructure {
  broker: KafkaBroker;
  postgres: PostgresServer;
  /** Apicurio Registry with in-memory storage: its subjects go when it stops (Plinth then reports them drifted). */
  schemaRegistry: SchemaRegistry;
  /** Undefined when PLINTH_PROMETHEUS_URL names a Prometheus-compatible API to use instead. */
  prometheus: PrometheusServer | undefined;
  prometheusUrl: string;
  /** The development OpenID provider the dev config trusts (people and services of devIdpUsers). */
  idp: DevIdp;
  kafkaDir: string;
  /** What config/plinth.dev.yaml's plugins read from the environment (passwords never go in the file). */
  pluginEnv: Record<string, string>;
  stop(): Promise<void>;
}

export const shown = (path: string) => (path.startsWith(repoRoot) ? relative(repoRoot, path) : path);

export const ports = {
  kafka: Number(process.env.KAFKA_PORT ?? 9092),
  postgres: Number(process.env.POSTGRES_PORT ?? 5432),
  plinth: Number(process.env.PLINTH_PORT ?? 8080),
  prometheus: Number(process.env.PROMETHEUS_PORT ?? 9090),
  idp: Number(process.env.IDP_PORT ?? 9400),
  schemaRegistry: Number(process.env.SCHEMA_REGISTRY_PORT ?? 8091),
};

export async function startLocalInfrastructure(options: LocalInfrastructureOptions): Promise<LocalInfrastructure> {
  const { dataDir } = options;
  // An existing Prometheus-compatible API to verify topics through instead of a local Prometheus
  // (it must scrape the broker's metrics target, printed by the scripts, with the label cluster="local").
  const externalPrometheus = process.env.PLINTH_PROMETHEUS_URL;
  const kafkaDir = join(dataDir, "kafka");
  if (formattedWithoutScram(kafkaDir)) {
    if (options.scramlessData === "refuse") {
      throw new Error(`${shown(kafkaDir)} was formatted without SASL/SCRAM; remove it and start again`);
    }
    // Made by an older `make start` with an open broker: its metadata has no super user to log in as.
    rmSync(kafkaDir, { recursive: true, force: true });
    process.stdout.write(
      `Kafka: ${shown(kafkaDir)} predates SASL/SCRAM; formatting it again (its topics are gone: ReconcileResource recreates Plinth's).\n`,
    );
  }
  // With the JMX exporter: Prometheus scrapes each topic's log size, which kafka.topic's verify asks for.
  const broker = await startKafka({ port: ports.kafka, dataDir: kafkaDir, scram: true, metrics: true });
  const stopped: (() => Promise<void>)[] = [() => broker.stop()];
  const stop = async () => {
    for (const stopOne of stopped.splice(0).reverse()) await stopOne();
  };
  try {
    // Throwaway: its databases go when it stops (Plinth then reports them as drifted; ReconcileResource recreates them).
    // The schema registry (in memory, like the PostgreSQL server: throwaway; ReconcileResource registers Plinth's
    // subjects again) starts beside PostgreSQL: its JVM takes longest.
    const [startedPostgres, startedRegistry] = await Promise.allSettled([
      startPostgres({ port: ports.postgres, durable: true }),
      startSchemaRegistry({
        port: ports.schemaRegistry,
        dir: join(dataDir, "schema-registry"),
        startTimeoutMs: 180_000,
      }),
    ]);
    if (startedPostgres.status === "fulfilled") stopped.push(() => startedPostgres.value.stop());
    if (startedRegistry.status === "fulfilled") stopped.push(() => startedRegistry.value.stop());
    if (startedPostgres.status === "rejected") throw startedPostgres.reason;
    if (startedRegistry.status === "rejected") throw startedRegistry.reason;
    const postgres = startedPostgres.value;
    const schemaRegistry = startedRegistry.value;
    let prometheus: PrometheusServer | undefined;
    if (!externalPrometheus) {
      prometheus = await startPrometheus({
        port: ports.prometheus,
        dataDir: join(dataDir, "prometheus"),
        scrapeIntervalMs: 2_000,
        scrape: [
          { job: "kafka", target: broker.metricsTarget!, labels: { cluster: "local" } },
          ...options.plinthTargets,
        ],
        ruleFiles: [join(repoRoot, "deploy/prometheus/plinth-rules.yaml")],
      });
      stopped.push(() => prometheus!.stop());
    }
    const prometheusUrl = externalPrometheus ?? prometheus!.url;
    // The console signs in through it on any of the servers' ports (make start-cluster runs three).
    const consoleRedirects = [0, 1, 2].flatMap((i) => [
      `http://127.0.0.1:${ports.plinth + i}/`,
      `http://localhost:${ports.plinth + i}/`,
    ]);
    const idp = await startDevIdp({ port: ports.idp, consoleRedirects });
    stopped.push(() => idp.stop());
    const superUser = broker.sasl!;
    const pluginEnv = {
      PLINTH_KAFKA_BOOTSTRAP: broker.bootstrapServers,
      // The super user's password (made once per data dir) reaches the plugin through `passwordEnv`.
      PLINTH_KAFKA_USERNAME: superUser.username,
      PLINTH_KAFKA_PASSWORD: superUser.password,
      PLINTH_POSTGRES_PORT: String(postgres.port),
      // The admin password reaches the plugin through its `passwordEnv`, never the config file.
      PLINTH_POSTGRES_ADMIN_PASSWORD: postgres.password,
      PLINTH_PROMETHEUS_URL: prometheusUrl,
      PLINTH_DEV_IDP_ISSUER: idp.issuer,
      PLINTH_SCHEMA_REGISTRY_URL: schemaRegistry.url,
    };
    return { broker, postgres, schemaRegistry, prometheus, prometheusUrl, idp, kafkaDir, pluginEnv, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A Plinth server in the foreground's terminal, with its config and environment. */
export function spawnPlinthServer(configFile: string, env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "packages/core/src/main.ts"), "--config", configFile],
    {
      cwd: join(repoRoot, "packages/core"),
      stdio: "inherit",
      env: { ...process.env, ...env },
    },
  );
}
