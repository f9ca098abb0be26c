// kafka.schema against a real schema registry (Apicurio, in memory), two figures:
// 1. the bulk half of a reconcile round over --subjects subjects: the plugin's `inventory` (one
//    `GET /subjects` listing) and `observeInBulk.differences` against every recorded resolved spec,
//    unchanged and with one subject soft-deleted out of band (it must come out as the one suspect);
// 2. a bare REST registration of one new subject (POST a version, PUT its level), what the
//    dynamic provider's create does, without Plinth, the engine or Pulumi;
// 3. with --applies N: N subjects, one after the other, from ApplyResource to SUCCEEDED through a real
//    Plinth server (createTestService: SQLite, the real Pulumi engine) with kafka.topic on a real broker.
//
//   node --import tsx bench/schema-drift.ts [--subjects 1000] [--rounds 5] [--applies 5]
import { loadavg } from "node:os";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { type SchemaSpec, kafkaSchema, resolveSchemaDefaults } from "../packages/plugin-kafka/src/index.ts";
import type { SchemaSettings } from "../packages/plugin-kafka/src/schema-settings.ts";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { createTestService, startKafka, startSchemaRegistry } from "../packages/testing/src/index.ts";

const { values: args } = parseArgs({
  options: {
    subjects: { type: "string", default: "1000" },
    rounds: { type: "string", default: "5" },
    applies: { type: "string", default: "0" },
  },
});
const count = Number(args.subjects);
const rounds = Number(args.rounds);
const load = () => loadavg()[0]!.toFixed(2);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const headers = { "content-type": "application/vnd.schemaregistry.v1+json" };
const schema = (i: number) =>
  JSON.stringify({ type: "record", name: `Event${i}`, fields: [{ name: "id", type: "string" }] });

const registry = await startSchemaRegistry({ startTimeoutMs: 300_000 });
try {
  const post = async (path: string, method: string, body: object) => {
    const response = await fetch(`${registry.url}${path}`, { method, headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  const register = async (i: number) => {
    await post(`/subjects/topic-${i}-value/versions`, "POST", { schema: schema(i), schemaType: "AVRO" });
    await post(`/config/topic-${i}-value`, "PUT", { compatibility: "BACKWARD" });
  };
  for (let start = 0; start < count; start += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - start) }, (_, k) => register(start + k)));
  }
  const settings: SchemaSettings = { registries: { local: { url: registry.url } } };
  const ctx = { settings, logger: { debug() {}, info() {}, warn() {}, error() {} } };
  const records = Array.from({ length: count }, (_, i) => {
    const spec: SchemaSpec = resolveSchemaDefaults({ cluster: "local", topic: `topic-${i}`, schema: schema(i) }).spec;
    return { name: `topic-${i}-value`, spec, identity: kafkaSchema.identity!(`topic-${i}-value`, spec, ctx) };
  });
  const bulk = kafkaSchema.observeInBulk!;
  const pass = async () => {
    const started = performance.now();
    const cpu = cpuUsage();
    const items = await kafkaSchema.inventory!("local", ctx);
    const byIdentity = new Map(items.map((item) => [item.identity, item]));
    const suspects = records.filter(
      (record) => bulk.differences(byIdentity.get(record.identity), record.name, record.spec, ctx).length > 0,
    );
    const used = cpuUsage(cpu);
    return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, suspects };
  };
  await pass(); // warm the connection and the JIT
  for (const state of ["unchanged", "one subject soft-deleted"]) {
    if (state !== "unchanged") {
      const response = await fetch(`${registry.url}/subjects/topic-7-value`, { method: "DELETE" });
      if (!response.ok) throw new Error(`soft delete: ${response.status}`);
    }
    const passes = [];
    for (let round = 0; round < rounds; round++) passes.push(await pass());
    console.log(
      `${state}: ${rounds} passes over ${count} subjects, median ${median(passes.map((p) => p.seconds)).toFixed(3)} s wall, ` +
        `${median(passes.map((p) => p.cpu)).toFixed(3)} s CPU, suspects ${passes.map((p) => p.suspects.map((s) => s.name).join("+") || 0).join(",")} (load ${load()})`,
    );
  }
  const bare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await register(count + round);
    bare.push((performance.now() - started) / 1000);
  }
  console.log(
    `bare REST registration of a new subject (POST version + PUT level): p50 ${median(bare).toFixed(3)} s, each ${bare.map((s) => s.toFixed(3)).join(" / ")} (load ${load()})`,
  );
  const applies = Number(args.applies);
  if (applies > 0) {
    const broker = await startKafka({ startTimeoutMs: 300_000 });
    const module = new URL("../packages/plugin-kafka/src/index.ts", import.meta.url).href;
    const service = await createTestService({
      plugins: [
        {
          module,
          export: "kafkaTopic",
          settings: { clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } } },
        },
        { module, export: "kafkaSchema", settings: { registries: { local: { url: registry.url } } } },
      ],
      logLevel: "warn",
    });
    try {
      const client = service.client("requester");
      const owner = { team: "payments", contact: "#payments" };
      const topic = await client.apply("kafka.topic", "bench.events", { cluster: "local", owner, partitions: 1 });
      await client.waitForChange(topic.change!.id);
      const seconds: number[] = [];
      for (let i = 0; i < applies; i++) {
        const started = performance.now();
        const applied = await client.apply("kafka.schema", `bench.events-${i}`, {
          cluster: "local",
          topic: "bench.events",
          subject: `bench.events-${i}`,
          schema: schema(i),
        });
        const done = await client.waitForChange(applied.change!.id);
        if (done.status !== ChangeStatus.SUCCEEDED) throw new Error(`apply ${i}: ${ChangeStatus[done.status]}`);
        seconds.push((performance.now() - started) / 1000);
      }
      console.log(
        `ApplyResource → SUCCEEDED for one new subject: p50 ${median(seconds).toFixed(2)} s, each ${seconds.map((s) => s.toFixed(2)).join(" / ")} (load ${load()})`,
      );
    } finally {
      await service.close();
      await broker.stop();
    }
  }
} finally {
  await registry.stop();
}
