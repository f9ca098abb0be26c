import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { type ManagedProcess, startManagedProcess } from "./managed-process.ts";
import { scratchDir } from "./scratch-dir.ts";
import { prometheusBinary } from "./toolchain.ts";
import { waitFor } from "./wait-for.ts";

/** One thing for Prometheus to scrape. */
export interface ScrapeTarget {
  /** The scrape job's name, Prometheus's `job` label. */
  job: string;
  /** "host:port" serving metrics. */
  target: string;
  /** "/metrics" by default. */
  path?: string;
  /** Labels added to every series of this target, e.g. `{ cluster: "local" }`. */
  labels?: Record<string, string>;
}

export interface StartPrometheusOptions {
  scrape?: ScrapeTarget[];
  /** Port on 127.0.0.1; a free one by default. */
  port?: number;
  /** How often every target is scraped (ms); 1 s by default, so a test waits little for a new series. */
  scrapeIntervalMs?: number;
  /** Alerting and recording rule files to load (evaluated at the scrape interval). */
  ruleFiles?: string[];
  /** Keep the TSDB here across runs (e.g. `make start`) instead of a fresh scratch directory; stop() keeps it. */
  dataDir?: string;
  /** How long to wait for Prometheus to report ready (ms). */
  startTimeoutMs?: number;
}

/** One series of an instant-query answer. */
export interface PrometheusSample {
  metric: Record<string, string>;
  value: number;
}

/** A real Prometheus server on loopback with its own TSDB. */
export interface PrometheusServer {
  /** "http://127.0.0.1:<port>", the base of its HTTP API. */
  readonly url: string;
  readonly port: number;
  /** Config, TSDB and prometheus.log. */
  readonly dir: string;
  /** Replaces the scrape targets (a config reload); resolves once Prometheus has taken them. */
  setScrape(targets: ScrapeTarget[]): Promise<void>;
  /** An instant query; throws with Prometheus's error text when it refuses the query. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** Stops the server but keeps its TSDB, as an outage would. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port with the same TSDB and targets. */
  resume(): Promise<void>;
  /** Stops the server and deletes its directory (unless it was `dataDir`). Safe to call twice. */
  stop(): Promise<void>;
  logTail(lines?: number): string;
  [Symbol.asyncDispose](): Promise<void>;
}

function configYaml(targets: ScrapeTarget[], intervalMs: number, ruleFiles: string[]): string {
  // JSON is YAML: no quoting rules to get wrong for label values.
  return JSON.stringify(
    {
      global: { scrape_interval: `${intervalMs}ms`, evaluation_interval: `${intervalMs}ms` },
      rule_files: ruleFiles,
      scrape_configs: targets.map((target) => ({
        job_name: target.job,
        metrics_path: target.path ?? "/metrics",
        // A scrape may not outlast its interval; a slow target is better late than missing on a loaded machine.
        scrape_timeout: `${intervalMs}ms`,
        static_configs: [{ targets: [target.target], labels: target.labels ?? {} }],
      })),
    },
    null,
    2,
  );
}

interface ApiAnswer<T> {
  status?: string;
  error?: string;
  data?: T;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as ApiAnswer<T>;
  if (!response.ok || body.status !== "success" || body.data === undefined) {
    throw new Error(`Prometheus answered ${response.status}: ${body.error ?? "no error text"}`);
  }
  return body.data;
}

/**
 * Starts a real Prometheus (Debian's package, from `make setup`) on a free
 * loopback port, scraping `scrape` every `scrapeIntervalMs` into a TSDB in a
 * fresh directory. Resolves once it reports ready and runs the given targets.
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? scratchDir("plinth-prometheus");
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const intervalMs = options.scrapeIntervalMs ?? 1_000;
  const configFile = join(dir, "prometheus.yml");
  let targets = options.scrape ?? [];
  writeFileSync(configFile, configYaml(targets, intervalMs, options.ruleFiles ?? []));

  /** Resolves once Prometheus runs exactly the configured jobs. */
  const runsTargets = async (): Promise<void> => {
    const data = await api<{ activeTargets: { scrapePool: string }[] }>(`${url}/api/v1/targets`);
    const running = new Set(data.activeTargets.map((target) => target.scrapePool));
    const wanted = new Set(targets.map((target) => target.job));
    if (running.size !== wanted.size || [...wanted].some((job) => !running.has(job))) {
      throw new Error(`running jobs [${[...running].join(", ")}], configured [${[...wanted].join(", ")}]`);
    }
  };

  let server: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = startManagedProcess({
      name: "prometheus",
      command: binary,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=1d",
      ],
      dir,
    });
    server = started;
    try {
      await waitFor(
        async () => {
          const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
          if (!response.ok) throw new Error(`/-/ready answered ${response.status}`);
          await runsTargets();
        },
        {
          what: `Prometheus on ${url}`,
          timeoutMs: options.startTimeoutMs ?? 60_000,
          abortReason: () => {
            const status = started.exitStatus();
            return status && `Prometheus ${status}; its log ends with:\n${started.logTail()}`;
          },
        },
      );
    } catch (error) {
      await started.kill();
      throw error;
    }
  };

  try {
    await launch();
  } catch (error) {
    if (!persistent) rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server?.stop();
    if (!persistent) rmSync(dir, { recursive: true, force: true });
  };
  return {
    url,
    port,
    dir,
    async setScrape(next) {
      targets = next;
      writeFileSync(configFile, configYaml(targets, intervalMs, options.ruleFiles ?? []));
      // SIGHUP reloads the config; a halted server reads it when it resumes.
      if (server && server.exitStatus() === undefined) {
        process.kill(server.pid, "SIGHUP");
        await waitFor(runsTargets, { what: "Prometheus reloading its targets", timeoutMs: 30_000 });
      }
    },
    async query(promql) {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      if (data.resultType !== "vector") throw new Error(`expected a vector for ${promql}, got a ${data.resultType}`);
      return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
    },
    halt: async () => {
      await server?.stop();
    },
    resume: async () => {
      if (server?.exitStatus() === undefined) return;
      await launch();
    },
    stop,
    logTail: (lines) => server?.logTail(lines) ?? "",
    [Symbol.asyncDispose]: stop,
  };
}
