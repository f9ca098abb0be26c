import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Admin } from "@platformatic/kafka";
import { freePort } from "./free-port.ts";
import { type ManagedProcess, startManagedProcess } from "./managed-process.ts";
import { scratchDir } from "./scratch-dir.ts";
import { MissingToolError, jmxExporterJar, kafkaLibsDir } from "./toolchain.ts";
import { waitFor } from "./wait-for.ts";

const execFileAsync = promisify(execFile);

export interface StartKafkaOptions {
  /** Broker port on 127.0.0.1; a free one by default. */
  port?: number;
  /** How long to wait for the broker to answer metadata requests (ms); default 180 s. */
  startTimeoutMs?: number;
  /**
   * Keep the broker's data here across runs (e.g. `make start`) instead of a
   * fresh scratch directory; it is formatted once and not deleted by stop().
   */
  dataDir?: string;
  /**
   * Serve clients on a SASL_PLAINTEXT listener with SCRAM-SHA-512 and enforce
   * ACLs (KRaft's StandardAuthorizer), as a secured cluster does. The broker
   * then has a super user (`broker.sasl`), created when the storage is
   * formatted, for admin and Pulumi connections; every other user needs ACLs.
   * Off by default: a PLAINTEXT listener where everything is allowed.
   */
  scram?: boolean;
  /**
   * Load the Prometheus JMX exporter agent: the broker then serves its log
   * size per topic and partition (`kafka_log_size{topic,partition}`, from
   * `kafka.log:type=Log,name=Size,...`) at `metricsTarget`/metrics. A kept
   * broker (`dataDir`) keeps its metrics port too.
   */
  metrics?: boolean;
  /**
   * With `scram: true`: more names for the brokers' `super.users` (no
   * credential is made for them), as a cluster whose operators made their
   * own tools super users.
   */
  extraSuperUsers?: string[];
}

/** The super user of a broker started with `scram: true`, in the shape Kafka clients take. */
export interface KafkaSuperUser {
  readonly mechanism: "SCRAM-SHA-512";
  readonly username: string;
  readonly password: string;
}

/** A single-node KRaft broker (broker and controller in one JVM) on loopback. */
export interface KafkaBroker {
  /** "127.0.0.1:<port>", for any Kafka client. */
  readonly bootstrapServers: string;
  readonly port: number;
  /** With `scram: true`: the super user every client of the listener must authenticate as (or another SCRAM user). */
  readonly sasl: KafkaSuperUser | undefined;
  /** With `metrics: true`: "127.0.0.1:<port>" serving /metrics, a Prometheus scrape target. */
  readonly metricsTarget: string | undefined;
  /** Scratch directory: config, data and broker.log. */
  readonly dir: string;
  /** Stops the broker but keeps its data, as an outage would (SIGKILL with `{ crash: true }`). */
  halt(options?: { crash?: boolean }): Promise<void>;
  /** Starts a halted broker again on the same port with the same data. */
  resume(): Promise<void>;
  /**
   * Stops the broker's process where it stands (SIGSTOP): connections stay
   * open and requests go unanswered until `thaw`, as when a broker hangs.
   * For tests that need a call to the broker to be in flight at a given moment.
   */
  freeze(): void;
  /** Lets a frozen broker run again (SIGCONT). */
  thaw(): void;
  /** Stops the broker and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
  logTail(lines?: number): string;
  [Symbol.asyncDispose](): Promise<void>;
}

const jvmOptions = [
  "-Xms256m",
  "-Xmx768m",
  "-XX:+UseSerialGC",
  // A test broker lives for seconds to minutes: start fast rather than peak fast.
  "-XX:TieredStopAtLevel=1",
  "-Djava.awt.headless=true",
];

function serverProperties(
  dir: string,
  port: number,
  controllerPort: number,
  superUser?: KafkaSuperUser,
  extraSuperUsers: string[] = [],
): string {
  const client = superUser ? "SASL_PLAINTEXT" : "PLAINTEXT";
  const security = superUser
    ? [
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        // The broker's own connections to its listener log in as the super user.
        `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${superUser.username}" password="${superUser.password}";`,
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        // ANONYMOUS is the broker talking to its own controller over the loopback-only CONTROLLER listener.
        `super.users=${[superUser.username, "ANONYMOUS", ...extraSuperUsers].map((name) => `User:${name}`).join(";")}`,
        "allow.everyone.if.no.acl.found=false",
      ]
    : [];
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
    `listeners=${client}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${client}://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    `inter.broker.listener.name=${client}`,
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${client}:${client}`,
    ...security,
    `log.dirs=${join(dir, "data")}`,
    "num.partitions=1",
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "",
  ].join("\n");
}

const log4jConfig = [
  "status = warn",
  "appender.console.type = Console",
  "appender.console.name = console",
  "appender.console.layout.type = PatternLayout",
  "appender.console.layout.pattern = [%d] %p %m (%c)%n",
  "rootLogger.level = INFO",
  "rootLogger.appenderRef.console.ref = console",
  "",
].join("\n");

/**
 * The JMX exporter's rules: only the log size MBeans, one gauge per topic and
 * partition. Walking every MBean of a broker takes far longer than a short
 * scrape interval allows on a busy machine, so nothing else is collected.
 */
const metricsRules = [
  "lowercaseOutputName: true",
  "includeObjectNames:",
  '  - "kafka.log:type=Log,name=Size,*"',
  "rules:",
  '  - pattern: "kafka.log<type=Log, name=Size, topic=(.+), partition=(.+)><>Value"',
  "    name: kafka_log_size",
  "    type: GAUGE",
  "    help: \"Bytes of a partition's log on this broker's disk.\"",
  "    labels:",
  '      topic: "$1"',
  '      partition: "$2"',
  "",
].join("\n");

async function metricsAnswer(target: string): Promise<void> {
  const response = await fetch(`http://${target}/metrics`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  await response.text();
}

async function brokerAnswers(bootstrapServers: string, superUser: KafkaSuperUser | undefined): Promise<void> {
  const admin = new Admin({
    clientId: "plinth-fixture",
    bootstrapBrokers: [bootstrapServers],
    retries: 0,
    timeout: 2_000,
    ...(superUser && { sasl: { ...superUser } }),
  });
  try {
    await admin.metadata({ topics: [] });
  } finally {
    await admin.close();
  }
}

async function formatStorage(javaArgs: string[], dir: string, superUser: KafkaSuperUser | undefined): Promise<void> {
  // A base64url id may start with "-", which the storage tool's argument parser takes for an
  // option (1 start in 64 failed); Kafka's own Uuid.randomUuid() skips those too.
  let clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
  const args = [
    ...javaArgs,
    "kafka.tools.StorageTool",
    "format",
    "--standalone",
    "-t",
    clusterId,
    "-c",
    join(dir, "server.properties"),
    // The super user's credential is part of the bootstrap metadata: it exists before any client connects.
    ...(superUser ? ["--add-scram", `SCRAM-SHA-512=[name=${superUser.username},password=${superUser.password}]`] : []),
  ];
  try {
    await execFileAsync("java", args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new MissingToolError("java not found: install Java 17+ (apt-get install openjdk-17-jre-headless)");
    }
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`formatting Kafka storage failed: ${stderr}`, { cause: error });
  }
}

/**
 * The super user of a SCRAM broker: made once per directory and kept there,
 * because a kept broker (`dataDir`) stores its credential in its metadata.
 * Hex, so it needs no escaping in the JAAS line.
 */
function superUserFor(dir: string): KafkaSuperUser {
  const file = join(dir, "super-user.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as KafkaSuperUser;
  const superUser: KafkaSuperUser = {
    mechanism: "SCRAM-SHA-512",
    username: "plinth-admin",
    password: randomBytes(24).toString("hex"),
  };
  writeFileSync(file, JSON.stringify(superUser), { mode: 0o600 });
  return superUser;
}

/**
 * Whether `dataDir` holds a broker formatted without `scram` (no super user
 * in its metadata): `startKafka({ scram: true, dataDir })` cannot use it, its
 * storage must be formatted again.
 */
export function formattedWithoutScram(dataDir: string): boolean {
  return existsSync(join(dataDir, "data", "meta.properties")) && !existsSync(join(dataDir, "super-user.json"));
}

/**
 * Starts a real Apache Kafka broker (KRaft, single node) on free loopback
 * ports with storage formatted in a fresh directory. Resolves once the broker
 * answers metadata requests. Needs Java 17+ and the jars from `make setup`.
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const libs = kafkaLibsDir();
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? scratchDir("plinth-kafka");
  mkdirSync(dir, { recursive: true });
  // A formatted KRaft log remembers its controller's address, so a kept broker keeps its ports.
  const portsFile = join(dir, "ports.json");
  const saved =
    persistent && existsSync(portsFile)
      ? (JSON.parse(readFileSync(portsFile, "utf8")) as { port: number; controllerPort: number; metricsPort?: number })
      : undefined;
  const port = options.port ?? saved?.port ?? (await freePort());
  const controllerPort = saved?.controllerPort ?? (await freePort());
  const agent = options.metrics ? jmxExporterJar() : undefined;
  const metricsPort = agent ? (saved?.metricsPort ?? (await freePort())) : undefined;
  const metricsTarget = metricsPort === undefined ? undefined : `127.0.0.1:${metricsPort}`;
  const formatted = existsSync(join(dir, "data", "meta.properties"));
  if (options.scram && persistent && formattedWithoutScram(dir)) {
    // Its super user would not exist on the broker: every login would fail until the start timed out.
    throw new Error(`${dir} was formatted without SCRAM: delete it (or start without scram) to use it`);
  }
  const superUser = options.scram ? superUserFor(dir) : undefined;
  const bootstrapServers = `127.0.0.1:${port}`;
  const classpath = join(libs, "*");
  writeFileSync(
    join(dir, "server.properties"),
    serverProperties(dir, port, controllerPort, superUser, options.extraSuperUsers),
  );
  writeFileSync(join(dir, "log4j2.properties"), log4jConfig);
  const javaArgs = [...jvmOptions, `-Dlog4j2.configurationFile=${join(dir, "log4j2.properties")}`, "-cp", classpath];
  // Only the broker loads the agent: the storage tool would bind its port too.
  const agentArgs: string[] = [];
  if (agent) {
    writeFileSync(join(dir, "jmx-exporter.yaml"), metricsRules);
    agentArgs.push(`-javaagent:${agent}=${metricsTarget}:${join(dir, "jmx-exporter.yaml")}`);
  }

  if (!formatted) {
    try {
      await formatStorage(javaArgs, dir, superUser);
    } catch (error) {
      if (!persistent) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  let broker: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = startManagedProcess({
      name: "kafka",
      command: "java",
      args: [...agentArgs, ...javaArgs, "kafka.Kafka", join(dir, "server.properties")],
      dir,
    });
    broker = started;
    try {
      const ready = async (): Promise<void> => {
        await brokerAnswers(bootstrapServers, superUser);
        if (metricsTarget) await metricsAnswer(metricsTarget);
      };
      await waitFor(ready, {
        what: `Kafka broker on ${bootstrapServers}`,
        // Generous: a JVM starts slowly on a loaded machine, and a broker that exits fails at once (abortReason).
        timeoutMs: options.startTimeoutMs ?? 180_000,
        abortReason: () => {
          const status = started.exitStatus();
          return status && `the broker ${status}; its log ends with:\n${started.logTail()}`;
        },
      });
    } catch (error) {
      await started.kill();
      throw error;
    }
  };

  if (persistent) writeFileSync(portsFile, JSON.stringify({ port, controllerPort, metricsPort }));
  try {
    await launch();
  } catch (error) {
    if (!persistent) rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  /** To the broker's JVM, if it is running. */
  const signal = (name: NodeJS.Signals): void => {
    if (broker && broker.exitStatus() === undefined) process.kill(broker.pid, name);
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // A frozen JVM would not act on the stop signal before the grace period ran out.
    signal("SIGCONT");
    await broker?.stop();
    if (!persistent) rmSync(dir, { recursive: true, force: true });
  };
  return {
    bootstrapServers,
    port,
    sasl: superUser,
    metricsTarget,
    dir,
    halt: async ({ crash = false } = {}) => {
      signal("SIGCONT");
      if (crash) await broker?.kill();
      else await broker?.stop();
    },
    resume: async () => {
      if (broker?.exitStatus() === undefined) return;
      await launch();
    },
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    stop,
    logTail: (lines) => broker?.logTail(lines) ?? "",
    [Symbol.asyncDispose]: stop,
  };
}
