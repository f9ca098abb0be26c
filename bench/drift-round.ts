// The bulk half of a reconcile round over many topics, on a real broker:
// what a round costs for topics that did not change (one cluster listing with
// partitions and configs, then the comparison with every recorded spec), and
// that a topic deleted out of band comes out as the one suspect. See bench/README.md.
//
//   node --import tsx bench/drift-round.ts [--topics 1000] [--rounds 5]
//
// Not measured here: the store (listing the settled resources) and the one
// refreshing Pulumi preview the suspect then gets (see BENCHMARKS.md for its cost).
// The topics are created with the admin client, with exactly the configs the
// plugin's defaults resolve (what Pulumi would have applied), not through Plinth.
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Admin } from "../packages/plugin-kafka/node_modules/@platformatic/kafka/dist/index.js";
import { type TopicSpec, kafkaTopic } from "../packages/plugin-kafka/src/index.ts";
import { KafkaSettings } from "../packages/plugin-kafka/src/cluster-settings.ts";
import { topicConfigStrings } from "../packages/plugin-kafka/src/topic-config-strings.ts";
import { startKafka } from "../packages/testing/src/index.ts";

const { values: args } = parseArgs({
  options: { topics: { type: "string", default: "1000" }, rounds: { type: "string", default: "5" } },
});
const count = Number(args.topics);
const rounds = Number(args.rounds);

const broker = await startKafka();
try {
  const settings = KafkaSettings.parse({
    clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } },
  });
  const ctx = { settings, logger: { debug() {}, info() {}, warn() {}, error() {} } };
  const bulk = kafkaTopic.observeInBulk!;
  const records = Array.from({ length: count }, (_, i) => {
    const name = `bench.drift.${String(i).padStart(5, "0")}`;
    const input = { cluster: "local", partitions: 1, owner: { team: "bench", contact: "#bench" } } as TopicSpec;
    const spec = kafkaTopic.defaults!(name, kafkaTopic.spec.parse(input), ctx).spec;
    return { name, spec, identity: kafkaTopic.identity!(name, spec, ctx) };
  });
  const admin = new Admin({ clientId: "bench-drift", bootstrapBrokers: [broker.bootstrapServers] });
  const seeded = Date.now();
  try {
    for (let i = 0; i < count; i += 100) {
      const batch = records.slice(i, i + 100);
      // Every record resolves the same configs; creating with them is what Pulumi's create does.
      await admin.createTopics({
        topics: batch.map((record) => record.name),
        partitions: 1,
        replicas: 1,
        configs: Object.entries(topicConfigStrings(batch[0]!.spec.config)).map(([name, value]) => ({ name, value })),
      });
    }
  } finally {
    await admin.close();
  }
  console.log(`seeded ${count} topics in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

  /** One bulk pass: list the cluster, compare every record; returns the suspects, seconds and CPU seconds. */
  async function pass() {
    const started = Date.now();
    const cpu = cpuUsage();
    const items = await kafkaTopic.inventory!("local", ctx);
    const byIdentity = new Map(items.map((item) => [item.identity, item]));
    const suspects = records.filter(
      (record) => bulk.differences(byIdentity.get(record.identity), record.name, record.spec, ctx).length > 0,
    );
    const used = cpuUsage(cpu);
    return { suspects, seconds: (Date.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
  }

  // Kafka creates topics asynchronously: wait until the listing shows every one as seeded.
  const settleBy = Date.now() + 120_000;
  let first = await pass();
  while (first.suspects.length > 0 && Date.now() < settleBy) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    first = await pass();
  }
  if (first.suspects.length > 0) {
    const items = await kafkaTopic.inventory!("local", ctx);
    const sample = first.suspects[0]!;
    const item = items.find((candidate) => candidate.identity === sample.identity);
    console.log(
      `still ${first.suspects.length} suspects after 120 s, e.g. ${sample.name}:`,
      bulk.differences(item, sample.name, sample.spec, ctx),
    );
  }
  console.log(
    `all ${count} topics listed as seeded ${((Date.now() - seeded) / 1000).toFixed(1)} s after seeding began`,
  );
  const passes = [];
  for (let round = 0; round < rounds; round++) passes.push(await pass());
  const sorted = passes.map((p) => p.seconds).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const cpuMedian = passes.map((p) => p.cpu).sort((a, b) => a - b)[Math.floor(passes.length / 2)]!;
  console.log(
    `unchanged: ${rounds} passes over ${count} topics, median ${median.toFixed(2)} s wall, ${cpuMedian.toFixed(2)} s CPU (this process), suspects ${passes.map((p) => p.suspects.length).join(",")}`,
  );

  const victim = records[Math.floor(count / 2)]!;
  const deleter = new Admin({ clientId: "bench-drift-hand", bootstrapBrokers: [broker.bootstrapServers] });
  try {
    await deleter.deleteTopics({ topics: [victim.name] });
  } finally {
    await deleter.close();
  }
  const after = await pass();
  console.log(
    `one deleted out of band: ${after.seconds.toFixed(2)} s wall, ${after.cpu.toFixed(2)} s CPU, suspects: ${after.suspects.length} (${after.suspects
      .slice(0, 3)
      .map((s) => s.name)
      .join(", ")})`,
  );
} finally {
  await broker.stop();
}
