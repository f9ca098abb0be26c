import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeStatus, createPlinthClient } from "@plinth/sdk";
import { approveDeviceCode, freePort, repoRoot, waitFor } from "@plinth/testing";
import { expect, it } from "vitest";
import { produceAs, refusal } from "./support/scram-clients.ts";

/** A person's access token from the running development provider, by the device flow. */
async function approveAs(issuer: string, login: string): Promise<string> {
  const start = await fetch(`${issuer}/device/auth`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "plinth-cli", scope: "openid profile offline_access" }),
  });
  const device = (await start.json()) as { device_code: string; verification_uri_complete: string };
  await approveDeviceCode(device.verification_uri_complete, login);
  const res = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: device.device_code,
      client_id: "plinth-cli",
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Whether nothing listens on `port` of 127.0.0.1 (binding it for a moment tells). */
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });

/** The first of `count` consecutive free ports: `make start-cluster`'s replicas take PLINTH_PORT and the ones after. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = await freePort();
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => portFree(first + i + 1)));
    if (rest.every(Boolean)) return first;
  }
}

/**
 * Runs scripts/start.ts as `make start` does (or scripts/start-cluster.ts as `make start-cluster` does, with
 * `servers` replicas), on free ports, with its state in `dataDir`.
 */
async function makeStart(dataDir: string, script = "start.ts", servers = 1) {
  const [kafkaPort, postgresPort, serverPort, prometheusPort, idpPort, registryPort] = [
    await freePort(),
    await freePort(),
    await freePorts(servers),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const env = Object.fromEntries(
    Object.entries({
      ...process.env,
      KAFKA_PORT: String(kafkaPort),
      POSTGRES_PORT: String(postgresPort),
      PLINTH_PORT: String(serverPort),
      PROMETHEUS_PORT: String(prometheusPort),
      IDP_PORT: String(idpPort),
      SCHEMA_REGISTRY_PORT: String(registryPort),
      PLINTH_DATA_DIR: dataDir,
    }).filter(([key]) => !key.startsWith("VITEST")),
  );
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "scripts", script)], {
    cwd: join(repoRoot, "packages/core"),
    env,
  });
  let said = "";
  child.stdout.on("data", (chunk: Buffer) => (said += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (said += chunk.toString()));
  try {
    await waitFor(
      async () => {
        const serving = said.split("plinth: serving on").length - 1;
        if (serving < servers) throw new Error(`${serving} of ${servers} serving yet`);
      },
      {
        what: "make start",
        // Three replicas start after the five servers: on a loaded machine, well past one server's four minutes.
        timeoutMs: 240_000 * servers,
        // start-cluster goes on when a replica fails to start: that is the end of the wait too.
        abortReason: () =>
          child.exitCode !== null || /replica \d+ \(port \d+\) exited/.test(said)
            ? `${child.exitCode === null ? "a replica exited" : `exited ${child.exitCode}`}: ${said}`
            : undefined,
      },
    );
  } catch (error) {
    await stop(child);
    throw error;
  }
  return {
    child,
    said: () => said,
    url: `http://127.0.0.1:${serverPort}`,
    serverPort,
    kafka: `127.0.0.1:${kafkaPort}`,
    prometheus: `http://127.0.0.1:${prometheusPort}`,
    issuer: `http://127.0.0.1:${idpPort}`,
    registry: `http://127.0.0.1:${registryPort}/apis/ccompat/v7`,
  };
}

/** SIGTERM to `child` (to its whole process group with `group`), resolving once it has exited. */
async function stop(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (group) process.kill(-child.pid!, "SIGTERM");
  else child.kill("SIGTERM");
  await exited;
}

// What a newcomer does after `make start`, following docs/kafka.md: a topic, a user with write access
// on it (a reviewer approves), the password revealed to the owning team, a message produced with it.
// Five servers start (broker, PostgreSQL, schema registry, Prometheus, Plinth) before the first change: more than
// the default timeout on a loaded machine.
it(
  "make start serves kafka.user and kafka.schema: a user created through the SDK produces with its revealed password",
  { timeout: 480_000 },
  async () => {
    const dataDir = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "make-start-"));
    // A broker data dir from before SCRAM (formatted, no super user): start.ts formats it again and says so.
    mkdirSync(join(dataDir, "kafka", "data"), { recursive: true });
    writeFileSync(join(dataDir, "kafka", "data", "meta.properties"), "version=1\n");
    const started = await makeStart(dataDir);
    try {
      expect(started.said()).toMatch(/Kafka: .*kafka predates SASL\/SCRAM; formatting it again/);
      expect(started.said()).toContain(`Kafka broker   ${started.kafka}  (SASL_PLAINTEXT, SCRAM-SHA-512`);
      // The walk-through's sign-in: the development provider make start runs, trusted by the dev config.
      const [alice, bob] = await Promise.all([approveAs(started.issuer, "alice"), approveAs(started.issuer, "bob")]);
      expect((await createPlinthClient({ baseUrl: started.url, token: alice }).identity.whoAmI({})).teams).toEqual([
        expect.objectContaining({ team: "payments", roles: ["requester"] }),
      ]);
      expect((await createPlinthClient({ baseUrl: started.url, token: bob }).identity.whoAmI({})).teams).toEqual([
        expect.objectContaining({ team: "payments", roles: ["reviewer"] }),
      ]);
      const requester = createPlinthClient({ baseUrl: started.url, token: "dev-requester" });
      const reviewer = createPlinthClient({ baseUrl: started.url, token: "dev-reviewer" });
      const owner = { team: "payments", contact: "#payments" };

      const topic = await requester.apply("kafka.topic", "orders.placed", { cluster: "local", owner });
      const user = await requester.apply("kafka.user", "orders-app", {
        cluster: "local",
        owner,
        access: [{ topics: { prefix: "orders." }, operations: "write" }],
      });
      expect(user.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
      await reviewer.changes.approveChange({ id: user.change!.id, comment: "orders service" });
      expect(await requester.waitForChange(topic.change!.id)).toMatchObject({
        status: ChangeStatus.SUCCEEDED,
        lastError: "",
      });
      // Verified as the original system did: the metrics store shows the topic, and the admin client agrees.
      const { events } = await requester.changes.getChange({ id: topic.change!.id });
      expect(events.map((event) => event.message).join("\n")).toMatch(
        /verified: Prometheus reports count\(kafka_log_size\{cluster="local",topic="orders\.placed"\}\) = \d+; topic "orders\.placed" has/,
      );
      // That Prometheus scrapes Plinth too, and has loaded the alert rules.
      const targets = (await (await fetch(`${started.prometheus}/api/v1/targets`)).json()) as {
        data: { activeTargets: { labels: { job: string } }[] };
      };
      expect(targets.data.activeTargets.map((target) => target.labels.job).sort()).toEqual(["kafka", "plinth"]);
      const rules = (await (await fetch(`${started.prometheus}/api/v1/rules`)).json()) as {
        data: { groups: { name: string }[] };
      };
      expect(rules.data.groups.map((group) => group.name)).toEqual(["plinth"]);
      expect(await requester.waitForChange(user.change!.id)).toMatchObject({
        status: ChangeStatus.SUCCEEDED,
        lastError: "",
      });
      expect((await requester.get("kafka.user", "orders-app")).outputs).toMatchObject({
        bootstrapServers: [started.kafka],
        mechanism: "SCRAM-SHA-512",
      });

      const { value } = await requester.resources.revealSecret({
        type: "kafka.user",
        name: "orders-app",
        key: "password",
      });
      const login = { username: "orders-app", password: value?.kind.value as string };
      await produceAs(started.kafka, login, "orders.placed", "order-1");
      // The broker enforces what was granted: no password, no entry.
      expect(await refusal(produceAs(started.kafka, { ...login, password: "wrong" }, "orders.placed", "x"))).toMatch(
        /SASL|authenticat/i,
      );

      // The README's walk-through: a schema for the topic, in make start's registry.
      const schema = await requester.apply("kafka.schema", "orders.placed-value", {
        cluster: "local",
        topic: "orders.placed",
        schema: '{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}',
      });
      expect(await requester.waitForChange(schema.change!.id)).toMatchObject({ status: ChangeStatus.SUCCEEDED });
      const latest = await fetch(`${started.registry}/subjects/orders.placed-value/versions/latest`);
      expect(await latest.json()).toMatchObject({ subject: "orders.placed-value", version: 1 });
    } finally {
      await stop(started.child);
    }
    expect(started.child.exitCode).toBe(0);
  },
);

// docs/operating.md's "To restart replica 2" of `make start-cluster`, as an operator follows it: SIGTERM the pid the
// banner printed, then the banner's "One more" line with replica 2's port and data dir. The replica that comes back
// has everything it needs from replica.env: it serves, and reaches the broker (SASL) and PostgreSQL (their passwords).
it(
  "make start-cluster's replica 2 restarts by hand from the lines its banner and docs/operating.md give",
  { timeout: 1_200_000 },
  async () => {
    const dataDir = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "make-start-cluster-"));
    const started = await makeStart(dataDir, "start-cluster.ts", 3);
    let restarted: ChildProcess | undefined;
    try {
      const port = started.serverPort + 1;
      const pid = Number(
        new RegExp(`Replica 2 +http://127\\.0\\.0\\.1:${port}  \\(pid (\\d+);`).exec(started.said())?.[1],
      );
      const oneMore = /One more +(.+)/.exec(started.said())?.[1];
      expect(pid).toBeGreaterThan(0);
      expect(oneMore).toContain(`PLINTH_PORT=${started.serverPort + 3} PLINTH_DATA_DIR=${dataDir}/replica-4 `);

      process.kill(pid, "SIGTERM");
      await waitFor(
        async () => {
          if (!started.said().includes(`replica 2 (port ${port}) exited with 0`)) throw new Error("still running");
        },
        { what: "replica 2 stopped", timeoutMs: 120_000 },
      );
      const command = oneMore!
        .replace(`PLINTH_PORT=${started.serverPort + 3}`, `PLINTH_PORT=${port}`)
        .replace(`${dataDir}/replica-4`, `${dataDir}/replica-2`);
      // The test's own environment holds none of replica.env's variables: the line alone must bring them.
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));
      // Its own process group, as a shell's job: the SIGTERM at the end reaches the server, not only bash.
      restarted = spawn("bash", ["-c", command], {
        cwd: repoRoot,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let said = "";
      restarted.stdout!.on("data", (chunk: Buffer) => (said += chunk.toString()));
      restarted.stderr!.on("data", (chunk: Buffer) => (said += chunk.toString()));
      const exited = restarted;
      await waitFor(
        async () => {
          if (!said.includes(`plinth: serving on http://127.0.0.1:${port}`)) throw new Error("not serving yet");
        },
        {
          what: "replica 2 restarted",
          timeoutMs: 180_000,
          abortReason: () => (exited.exitCode === null ? undefined : `exited ${exited.exitCode}: ${said}`),
        },
      );
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const admin = createPlinthClient({ baseUrl: url, token: "dev-admin" });
      // Each lists its cluster as the admin replica.env names, with the password from it (a missing one fails).
      for (const type of ["kafka.topic", "postgres.database"]) {
        await expect(admin.plugins.listInventory({ type, scope: "local" }), type).resolves.toBeDefined();
      }
    } finally {
      if (restarted) await stop(restarted, true);
      await stop(started.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(started.child.exitCode).toBe(0);
  },
);
