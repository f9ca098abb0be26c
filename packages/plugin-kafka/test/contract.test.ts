import { Admin } from "@platformatic/kafka";
import { describePluginContract, startKafka } from "@plinth/testing";
import { expect } from "vitest";
import { kafkaTopic } from "../src/index.ts";
import { settingsInput } from "./support/fixtures.ts";

const owner = { team: "payments", contact: "#payments" };

/** Runs `use` with an admin client of the cluster named "local" in `settings`. */
async function withAdmin<T>(settings: Record<string, unknown>, use: (admin: Admin) => Promise<T>): Promise<T> {
  const clusters = settings.clusters as Record<string, { bootstrapServers: string[] }>;
  const admin = new Admin({ clientId: "contract-check", bootstrapBrokers: clusters.local!.bootstrapServers });
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

describePluginContract(kafkaTopic, {
  settings: settingsInput,
  valid: [
    {
      name: "orders.placed.v1",
      spec: { cluster: "main", owner },
      description: "the least spec (defaults fill the rest)",
    },
    {
      name: "orders.sized.v1",
      spec: {
        cluster: "main",
        owner,
        throughput: { peakMessagesPerSecond: 2_000, averageMessageBytes: 1_024, maxMessageBytes: 65_536 },
      },
      description: "sized from throughput",
    },
    {
      name: "orders.small.v1",
      spec: { cluster: "small", owner, partitions: 3, config: { "cleanup.policy": "compact" } },
      description: "explicit partitions and a config on a 1-broker cluster",
    },
  ],
  invalid: [
    { name: "orders.placed.v1", spec: { cluster: "main", owner, partitions: 0 }, field: "partitions" },
    { name: "orders.placed.v1", spec: { owner }, field: "cluster", description: "no cluster" },
    { name: "orders.placed.v1", spec: { cluster: "nope", owner }, field: "cluster", description: "an unknown cluster" },
    { name: "orders.placed.v1", spec: { cluster: "main", owner, colour: "red" }, field: "colour" },
    {
      name: "orders.placed.v1",
      spec: { cluster: "main", owner, config: { "retention.ms": -5 } },
      field: "config.retention.ms",
    },
    {
      name: "orders.placed.v1",
      spec: { cluster: "main", owner, partitions: 3 },
      previous: { cluster: "main", owner, partitions: 6 },
      field: "partitions",
      description: "fewer partitions than before",
    },
  ],
  sameIdentity: [
    {
      description: "a config value changes",
      name: "orders.placed.v1",
      spec: { cluster: "main", owner },
      edited: { cluster: "main", owner, config: { "cleanup.policy": "compact" }, description: "now compacted" },
    },
  ],
  real: {
    plugin: { module: new URL("../src/index.ts", import.meta.url).href, export: "kafkaTopic" },
    async setup() {
      const broker = await startKafka();
      return {
        settings: { clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } } },
        stop: () => broker.stop(),
      };
    },
    name: "contract.orders.v1",
    create: { cluster: "local", owner, partitions: 2 },
    update: { cluster: "local", owner, partitions: 3, config: { "retention.ms": 7_200_000 } },
    check: ({ name, spec, settings }) =>
      withAdmin(settings, async (admin) => {
        const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
        expect(metadata.topics.get(name)?.partitionsCount).toBe(spec.partitions);
      }),
    checkGone: ({ name, settings }) =>
      withAdmin(settings, async (admin) => {
        expect(await admin.listTopics()).not.toContain(name);
      }),
    // Partitions added by hand: the recorded spec no longer matches the broker.
    drift: ({ name, spec, settings }) =>
      withAdmin(settings, async (admin) => {
        await admin.createPartitions({ topics: [{ name, count: Number(spec.partitions) + 1 }] });
      }),
  },
});
