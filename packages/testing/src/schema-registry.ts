import { mkdirSync, rmSync } from "node:fs";
import { freePort } from "./free-port.ts";
import { startManagedProcess } from "./managed-process.ts";
import { scratchDir } from "./scratch-dir.ts";
import { apicurioRunnerJar } from "./toolchain.ts";
import { waitFor } from "./wait-for.ts";

export interface StartSchemaRegistryOptions {
  /** HTTP port on 127.0.0.1; a free one by default. */
  port?: number;
  /** How long to wait for the registry to answer (ms). */
  startTimeoutMs?: number;
  /** Keep the log here (e.g. `make start`) instead of a fresh scratch directory; not deleted by stop(). */
  dir?: string;
}

/** A schema registry (Apicurio Registry, in-memory storage) on loopback. */
export interface SchemaRegistry {
  /** The Confluent-compatible API: "http://127.0.0.1:<port>/apis/ccompat/v7". */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the registry (its schemas are gone: the storage is in memory). Safe to call twice. */
  stop(): Promise<void>;
  logTail(lines?: number): string;
  [Symbol.asyncDispose](): Promise<void>;
}

const jvmOptions = [
  "-Xms128m",
  "-Xmx512m",
  "-XX:+UseSerialGC",
  // A test registry lives for seconds to minutes: start fast rather than peak fast.
  "-XX:TieredStopAtLevel=1",
  "-Djava.awt.headless=true",
];

/**
 * Starts a real schema registry: Apicurio Registry with in-memory storage,
 * serving the Confluent-compatible API on a free loopback port, every
 * listener on 127.0.0.1 (the management interface is off). Resolves once
 * the API lists subjects. Needs Java 17+ and the app from `make setup`.
 */
export async function startSchemaRegistry(options: StartSchemaRegistryOptions = {}): Promise<SchemaRegistry> {
  const jar = apicurioRunnerJar();
  const kept = options.dir !== undefined;
  const dir = options.dir ?? scratchDir("plinth-schema-registry");
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  const registry = startManagedProcess({
    name: "schema-registry",
    command: "java",
    args: [
      ...jvmOptions,
      "-Dquarkus.http.host=127.0.0.1",
      `-Dquarkus.http.port=${port}`,
      "-Dquarkus.management.enabled=false",
      "-Dquarkus.management.host=127.0.0.1",
      "-jar",
      jar,
    ],
    dir,
  });
  try {
    await waitFor(
      async () => {
        const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) throw new Error(`GET /subjects answered ${response.status}`);
        await response.text();
      },
      {
        what: `schema registry on 127.0.0.1:${port}`,
        timeoutMs: options.startTimeoutMs ?? 90_000,
        abortReason: () => {
          const status = registry.exitStatus();
          return status && `the registry ${status}; its log ends with:\n${registry.logTail()}`;
        },
      },
    );
  } catch (error) {
    await registry.kill();
    if (!kept) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await registry.stop();
    if (!kept) rmSync(dir, { recursive: true, force: true });
  };
  return { url, port, dir, stop, logTail: (lines) => registry.logTail(lines), [Symbol.asyncDispose]: stop };
}
