import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { ChangeStatus, ResourceStatus } from "@plinth/sdk";
import {
  type KafkaBroker,
  type PrometheusServer,
  type TestService,
  createTestService,
  startKafka,
  startPrometheus,
  waitFor,
} from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings, type KafkaSettingsInput, kafkaTopic } from "../src/index.ts";
import { topicSpec } from "./support/fixtures.ts";

/** The plugin module as a service config names it: loaded through tsx, like `make start` does. */
const pluginModule = join(import.meta.dirname, "../src/index.ts");
/** What config/plinth.dev.yaml asks: how many partitions of the topic report a log size. */
const query = 'count(kafka_log_size{cluster="{{cluster}}",topic="{{topic}}"})';
const owner = { team: "payments", contact: "#payments-oncall" };

// Everything real: a broker with the JMX exporter, a Prometheus scraping it,
// and a Plinth service with the real Pulumi engine whose kafka.topic verifies
// through that Prometheus. One of each for the whole file.
describe("kafka.topic verified through a real Prometheus", { timeout: 300_000 }, () => {
  let broker: KafkaBroker;
  let prometheus: PrometheusServer;
  let service: TestService;
  let admin: Admin;
  let settings: KafkaSettingsInput;
  const scrapeBroker = () =>
    prometheus.setScrape([{ job: "kafka", target: broker.metricsTarget!, labels: { cluster: "local" } }]);

  beforeAll(async () => {
    broker = await startKafka({ metrics: true });
    // Not scraping the broker yet: the first test turns that on when it wants the topic seen.
    prometheus = await startPrometheus();
    admin = new Admin({ clientId: "verify-through-prometheus", bootstrapBrokers: [broker.bootstrapServers] });
    settings = {
      clusters: {
        local: {
          bootstrapServers: [broker.bootstrapServers],
          brokers: 1,
          verify: { prometheus: { url: prometheus.url, query, timeoutMs: 2_000 } },
        },
      },
    };
    service = await createTestService({
      plugins: [{ module: pluginModule, export: "kafkaTopic", settings }],
      // A deadline far beyond any scrape, so only a missing scrape or a Prometheus outage holds a change.
      settings: { worker: { verifyTimeoutMs: 180_000 }, reconcile: { intervalMs: 2_000 } },
    });
  });
  afterAll(async () => {
    await service?.close();
    await admin?.close();
    await prometheus?.stop();
    await broker?.stop();
  });

  const onBroker = async (topic: string) => (await admin.listTopics()).includes(topic);
  const createdOnBroker = (topic: string) =>
    waitFor(
      async () => {
        if (!(await onBroker(topic))) throw new Error("not on the broker yet");
      },
      { what: `${topic} on the broker`, timeoutMs: 120_000 },
    );
  const statusOf = async (changeId: string) =>
    (await service.client("requester").changes.getChange({ id: changeId })).change?.status;

  it("keeps a topic the broker has but Prometheus has not scraped APPLYING; READY once the scrape shows it", async () => {
    const alice = service.client("requester");
    const { change } = await alice.apply("kafka.topic", "orders.scraped.v1", {
      cluster: "local",
      owner,
      partitions: 3,
    });
    await createdOnBroker("orders.scraped.v1");
    // The admin client agrees already, but no scrape has seen the topic: verify must keep waiting.
    expect(await prometheus.query('kafka_log_size{topic="orders.scraped.v1"}')).toEqual([]);
    expect(await statusOf(change!.id)).toBe(ChangeStatus.APPLYING);
    expect((await alice.get("kafka.topic", "orders.scraped.v1")).status).toBe(ResourceStatus.PROVISIONING);

    await scrapeBroker();
    const done = await alice.waitForChange(change!.id);
    expect(done.status).toBe(ChangeStatus.SUCCEEDED);
    expect(done.attempts).toBe(1);
    const { events } = await alice.changes.getChange({ id: done.id });
    expect(events.map((event) => event.message).join("\n")).toMatch(
      /verified: Prometheus reports count\(kafka_log_size\{cluster="local",topic="orders\.scraped\.v1"\}\) = 3; topic "orders\.scraped\.v1" has 3 partitions/,
    );
    expect((await alice.get("kafka.topic", "orders.scraped.v1")).status).toBe(ResourceStatus.READY);
  });

  it("notices a topic deleted out of band: its series goes, and the reconciler's verify marks it DRIFTED", async () => {
    await scrapeBroker();
    const alice = service.client("requester");
    const { change } = await alice.apply("kafka.topic", "orders.vanishing.v1", {
      cluster: "local",
      owner,
      partitions: 1,
    });
    expect((await alice.waitForChange(change!.id)).status).toBe(ChangeStatus.SUCCEEDED);

    await admin.deleteTopics({ topics: ["orders.vanishing.v1"] });
    await waitFor(
      async () => {
        const series = await prometheus.query('kafka_log_size{topic="orders.vanishing.v1"}');
        if (series.length > 0) throw new Error("still reported");
      },
      { what: "the deleted topic gone from Prometheus", timeoutMs: 60_000 },
    );
    const drifted = await waitFor(
      async () => {
        const resource = await alice.get("kafka.topic", "orders.vanishing.v1");
        if (resource.status !== ResourceStatus.DRIFTED) throw new Error(`still ${ResourceStatus[resource.status]}`);
        return resource;
      },
      { what: "orders.vanishing.v1 marked DRIFTED", timeoutMs: 120_000 },
    );
    expect(drifted.drift?.findings.join("\n")).toMatch(
      /verify: Prometheus has no non-zero value yet for count\(kafka_log_size\{cluster="local",topic="orders\.vanishing\.v1"\}\)/,
    );
  });

  it("waits while Prometheus is down instead of failing, and finishes once it is back within the deadline", async () => {
    await scrapeBroker();
    const alice = service.client("requester");
    const { change: before } = await alice.apply("kafka.topic", "orders.steady.v1", { cluster: "local", owner });
    expect((await alice.waitForChange(before!.id)).status).toBe(ChangeStatus.SUCCEEDED);

    await prometheus.halt();
    const halted = Date.now() / 1000;
    const { change } = await alice.apply("kafka.topic", "orders.patient.v1", {
      cluster: "local",
      owner,
      partitions: 2,
    });
    await createdOnBroker("orders.patient.v1");
    expect(await statusOf(change!.id)).toBe(ChangeStatus.APPLYING);
    // Reconcile rounds run meanwhile: a metrics store that cannot be asked says nothing about a topic.
    await waitFor(
      async () => {
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        const end = Number(/^plinth_reconcile_last_round_end_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
        if (!(end > halted)) throw new Error("no reconcile round has ended during the outage yet");
      },
      { what: "a reconcile round during the outage", timeoutMs: 120_000 },
    );
    expect((await alice.get("kafka.topic", "orders.steady.v1")).status).toBe(ResourceStatus.READY);
    expect(await statusOf(change!.id)).toBe(ChangeStatus.APPLYING);

    await prometheus.resume();
    const done = await alice.waitForChange(change!.id);
    expect(done.status).toBe(ChangeStatus.SUCCEEDED);
    // One attempt: the outage cost time, never a failure or a retry.
    expect(done.attempts).toBe(1);
    const { events } = await alice.changes.getChange({ id: done.id });
    expect(events.filter((event) => /retry|failed/i.test(event.message))).toEqual([]);
  });

  it("answers not ready, without throwing, for a query Prometheus refuses or a zero answer", async () => {
    await scrapeBroker();
    const verify = (promql: string) => {
      const parsed = KafkaSettings.parse({
        clusters: {
          local: { ...settings.clusters.local, verify: { prometheus: { url: prometheus.url, query: promql } } },
        },
      });
      const spec = topicSpec({ cluster: "local", partitions: 3, replicationFactor: 1, throughput: undefined });
      return kafkaTopic.verify!({ name: "orders.scraped.v1", spec, outputs: {}, settings: parsed });
    };
    expect(await verify(query)).toMatchObject({ ready: true });
    expect(await verify('count(kafka_log_size{topic="{{topic}}"')).toMatchObject({
      ready: false,
      message: expect.stringMatching(/^Prometheus answered 400: /),
    });
    expect(await verify(`${query} * 0`)).toMatchObject({ ready: false });
  });
});
