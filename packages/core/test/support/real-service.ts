import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { type Logger, pino } from "pino";
import { type PulumiEngineOptions, createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { type Engine, parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { defaultPulumiBackend } from "../../src/store/postgres/postgres-connection.ts";
import { type TestService, clientsFor, principals, testConfig } from "./test-service.ts";

export const kafkaPluginModule = join(import.meta.dirname, "../../../plugin-kafka/src/index.ts");

/** Service config for kafka.topic on one local broker, with fast worker timings. */
export function kafkaServiceConfig(dataDir: string, bootstrapServers: string, overrides: Record<string, unknown> = {}) {
  return testConfig(dataDir, {
    worker: {
      leaseMs: 3_000,
      pollMs: 100,
      retryBaseMs: 200,
      retryMaxMs: 1_000,
      maxAttempts: 30,
      verifyTimeoutMs: 20_000,
    },
    reconcile: { intervalMs: 0 },
    plugins: [
      {
        module: kafkaPluginModule,
        export: "kafkaTopic",
        settings: { clusters: { local: { bootstrapServers: [bootstrapServers], brokers: 1 } } },
      },
    ],
    ...overrides,
  });
}

export function realDataDir(): string {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, "plinth-real-"));
}

/** A Plinth server with the real Pulumi engine and the kafka.topic plugin against `bootstrapServers`. */
export async function startRealService(
  bootstrapServers: string,
  options: {
    dataDir?: string;
    config?: Record<string, unknown>;
    wrapEngine?: (engine: Engine) => Engine;
    /** Hooks of the Pulumi engine, e.g. `onChild` to see its children's pids. */
    engine?: Pick<PulumiEngineOptions, "onChild" | "operationsPerChild">;
    /** The server's logger, e.g. one that keeps its lines for a test to read; silent by default. */
    logger?: Logger;
  } = {},
): Promise<TestService> {
  const dataDir = options.dataDir ?? realDataDir();
  const service = await startPlinthService(
    parseServiceConfig(kafkaServiceConfig(dataDir, bootstrapServers, options.config), dataDir),
    {
      createEngine: ({ config }, _logger, store) => {
        // As main.ts does: with a PostgreSQL store, Pulumi's state is in that database too.
        const engine = createPulumiEngine({
          dataDir,
          backendUrl: config.engine.backendUrl ?? defaultPulumiBackend(config),
          passphrase: config.engine.passphrase,
          concurrency: 2,
          parentSilenceMs: Math.floor(config.worker.leaseMs / 2),
          replicaBeats: (host) => store.transact((tx) => tx.replicaBeats(host), { lane: "lease" }),
          ...options.engine,
        });
        return options.wrapEngine ? options.wrapEngine(engine) : engine;
      },
      logger: options.logger ?? pino({ level: process.env.PLINTH_TEST_LOG ?? "silent" }),
    },
  );
  return { ...service, dataDir, as: (name) => clientsFor(service.url, principals[name].token) };
}

/** Partition count as an independent admin client sees it; undefined when the topic does not exist. */
export async function topicPartitions(bootstrapServers: string, topic: string): Promise<number | undefined> {
  const admin = new Admin({ clientId: "plinth-test-check", bootstrapBrokers: [bootstrapServers] });
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)?.partitionsCount;
  } finally {
    await admin.close();
  }
}

export async function deleteTopicOutOfBand(bootstrapServers: string, topic: string): Promise<void> {
  const admin = new Admin({ clientId: "plinth-test-hand", bootstrapBrokers: [bootstrapServers] });
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.close();
  }
}
