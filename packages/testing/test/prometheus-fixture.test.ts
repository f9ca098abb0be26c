import { existsSync } from "node:fs";
import { Admin } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KafkaBroker, type PrometheusServer, startKafka, startPrometheus, waitFor } from "../src/index.ts";

// One broker with the JMX exporter and one Prometheus scraping it, shared by the file.
describe("startKafka({ metrics: true }) and startPrometheus", () => {
  let broker: KafkaBroker;
  let prometheus: PrometheusServer;
  let admin: Admin;
  beforeAll(async () => {
    broker = await startKafka({ metrics: true });
    prometheus = await startPrometheus({
      scrape: [{ job: "kafka", target: broker.metricsTarget!, labels: { cluster: "local" } }],
    });
    admin = new Admin({ clientId: "prometheus-fixture", bootstrapBrokers: [broker.bootstrapServers] });
  });
  afterAll(async () => {
    await admin?.close();
    await prometheus?.stop();
    await broker?.stop();
  });

  const logSize = (topic: string) => prometheus.query(`kafka_log_size{topic="${topic}"}`);

  it("scrapes the log size of every partition of a new topic, labelled with the target's labels", async () => {
    await admin.createTopics({ topics: ["metrics.check.v1"], partitions: 3, replicas: 1 });
    const samples = await waitFor(
      async () => {
        const found = await logSize("metrics.check.v1");
        if (found.length < 3) throw new Error(`${found.length} of 3 partitions scraped`);
        return found;
      },
      { what: "the new topic's log size in Prometheus", timeoutMs: 60_000 },
    );
    expect(samples.map((sample) => sample.metric.partition).sort()).toEqual(["0", "1", "2"]);
    for (const sample of samples) {
      expect(sample.metric).toMatchObject({ job: "kafka", cluster: "local", topic: "metrics.check.v1" });
      expect(Number.isFinite(sample.value)).toBe(true);
    }
  });

  it("drops a deleted topic's series, and answers a bad query with Prometheus's error", async () => {
    await admin.createTopics({ topics: ["metrics.gone.v1"], partitions: 1, replicas: 1 });
    await waitFor(
      async () => {
        if ((await logSize("metrics.gone.v1")).length === 0) throw new Error("not scraped yet");
      },
      { what: "the topic's log size", timeoutMs: 60_000 },
    );
    await admin.deleteTopics({ topics: ["metrics.gone.v1"] });
    await waitFor(
      async () => {
        if ((await logSize("metrics.gone.v1")).length > 0) throw new Error("still reported");
      },
      { what: "the deleted topic's series to go stale", timeoutMs: 60_000 },
    );
    await expect(prometheus.query("kafka_log_size{")).rejects.toThrow(/Prometheus answered 400/);
  });

  it("halts and resumes on the same port, keeping its data; setScrape replaces the targets", async () => {
    await prometheus.halt();
    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
    await prometheus.resume();
    expect((await logSize("metrics.check.v1")).length).toBe(3);

    await prometheus.setScrape([{ job: "renamed", target: broker.metricsTarget! }]);
    await waitFor(
      async () => {
        if ((await prometheus.query('up{job="renamed"} == 1')).length === 0) throw new Error("not scraped yet");
      },
      { what: "the new job's first scrape", timeoutMs: 60_000 },
    );
  });

  it("stops cleanly and removes its directory", async () => {
    const own = await startPrometheus();
    await own.stop();
    await own.stop();
    expect(existsSync(own.dir)).toBe(false);
    await expect(fetch(`${own.url}/-/ready`)).rejects.toThrow();
  });
});
