import { existsSync, readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Root of the Plinth checkout (this file lives in packages/testing/src). */
export const repoRoot = resolve(import.meta.dirname, "../../..");

/**
 * Pinned versions, read from toolchain/versions.env (the one source of truth),
 * or from the copy a packed @plinth/testing carries beside this file in dist/.
 */
export function toolchainVersions(): Record<string, string> {
  const packed = join(import.meta.dirname, "toolchain-versions.env");
  const text = readFileSync(existsSync(packed) ? packed : join(repoRoot, "toolchain/versions.env"), "utf8");
  const versions: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) versions[match[1]] = match[2];
  }
  return versions;
}

/** The cache every setup script installs into (`PLINTH_CACHE`, default ~/.cache/plinth). */
export function cacheDir(): string {
  return process.env.PLINTH_CACHE ?? join(homedir(), ".cache/plinth");
}

/** Thrown when a tool a fixture needs is not installed; the message says which command installs it. */
export class MissingToolError extends Error {
  override name = "MissingToolError";
}

export function kafkaLibsDir(): string {
  const dir = process.env.PLINTH_KAFKA_LIBS ?? join(cacheDir(), `kafka-${toolchainVersions().KAFKA_VERSION}/libs`);
  if (!existsSync(join(dir, `kafka_2.13-${toolchainVersions().KAFKA_VERSION}.jar`)) && !process.env.PLINTH_KAFKA_LIBS) {
    throw new MissingToolError(`Kafka jars not found in ${dir}: run 'make setup' (scripts/toolchain/kafka.sh)`);
  }
  return dir;
}

/** The Prometheus JMX exporter Java agent (scripts/toolchain/prometheus.sh). */
export function jmxExporterJar(): string {
  const version = toolchainVersions().JMX_EXPORTER_VERSION;
  const jar = join(cacheDir(), `jmx-exporter-${version}/jmx_prometheus_javaagent-${version}.jar`);
  if (!existsSync(jar)) {
    throw new MissingToolError(
      `JMX exporter agent not found at ${jar}: run 'make setup' (scripts/toolchain/prometheus.sh)`,
    );
  }
  return jar;
}

/** The `prometheus` binary, Debian's package (scripts/toolchain/prometheus.sh) or PLINTH_PROMETHEUS. */
export function prometheusBinary(): string {
  return findOnPath(process.env.PLINTH_PROMETHEUS ?? "prometheus", "Prometheus");
}

/** The `promtool` binary that comes with Prometheus, or PLINTH_PROMTOOL. */
export function promtoolBinary(): string {
  return findOnPath(process.env.PLINTH_PROMTOOL ?? "promtool", "promtool");
}

function findOnPath(command: string, what: string): string {
  const candidates = command.includes("/")
    ? [command]
    : (process.env.PATH ?? "").split(":").map((dir) => join(dir || ".", command));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new MissingToolError(
      `${what} not found (${command}): run 'make setup' (scripts/toolchain/prometheus.sh, Debian's prometheus package)`,
    );
  }
  return found;
}

export function postgresBinDir(): string {
  const fromEnv = process.env.PLINTH_PG_BIN;
  const candidates = fromEnv
    ? [fromEnv]
    : existsSync("/usr/lib/postgresql")
      ? readdirSync("/usr/lib/postgresql")
          .sort((a, b) => Number(b) - Number(a))
          .map((version) => `/usr/lib/postgresql/${version}/bin`)
      : [];
  const dir = candidates.find((candidate) => existsSync(join(candidate, "initdb")));
  if (!dir) {
    throw new MissingToolError(
      "PostgreSQL server binaries not found: run 'make setup' (apt-get install postgresql) or set PLINTH_PG_BIN",
    );
  }
  return dir;
}

/** Directory holding the pinned `pulumi` CLI and the dynamic provider launcher. */
export function pulumiBinDir(): string {
  const dir = join(cacheDir(), `pulumi-${toolchainVersions().PULUMI_VERSION}/bin`);
  if (!existsSync(join(dir, "pulumi"))) {
    throw new MissingToolError(`Pulumi CLI not found in ${dir}: run 'make setup' (scripts/toolchain/pulumi.sh)`);
  }
  return dir;
}

/** Environment that keeps Pulumi offline and on the pinned CLI and plugins. */
export function pulumiEnv(): Record<string, string> {
  return {
    PULUMI_HOME: process.env.PULUMI_HOME ?? join(cacheDir(), "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    PATH: `${pulumiBinDir()}:${join(cacheDir(), "bin")}:${process.env.PATH ?? ""}`,
  };
}

/** The Apicurio Registry runner jar (scripts/toolchain/schema-registry.sh), or PLINTH_APICURIO_JAR. */
export function apicurioRunnerJar(): string {
  const version = toolchainVersions().APICURIO_VERSION;
  const jar =
    process.env.PLINTH_APICURIO_JAR ??
    join(cacheDir(), `apicurio-${version}/apicurio-registry-app-${version}-runner.jar`);
  if (!existsSync(jar)) {
    throw new MissingToolError(
      `Apicurio Registry not found at ${jar}: run 'make setup' (scripts/toolchain/schema-registry.sh)`,
    );
  }
  return jar;
}
