import { describePluginContract, startKafka, startSchemaRegistry } from "@plinth/testing";
import { kafkaSchema } from "../src/index.ts";
import {
  applyTopic,
  avroRecord,
  compatibilityOf,
  deleteSubjectOutOfBand,
  latestVersion,
  orderV1,
  orderV2,
} from "./support/schema-fixtures.ts";

const pluginModule = new URL("../src/index.ts", import.meta.url).href;
const topic = "contract.orders.v1";
const registryOf = (settings: Record<string, unknown>) =>
  (settings.registries as Record<string, { url: string }>).local!.url;

describePluginContract(kafkaSchema, {
  // Only parsed for the pure checks: nothing listens there.
  settings: { registries: { main: { url: "http://127.0.0.1:9/apis/ccompat/v7" } } },
  valid: [
    {
      name: "orders-value",
      spec: { cluster: "main", topic: "orders", schema: orderV1 },
      description: "the least spec",
    },
    {
      name: "orders-key",
      spec: { cluster: "main", topic: "orders", part: "key", schema: '{"type":"string"}', compatibility: "FULL" },
    },
    {
      name: "orders-proto",
      spec: {
        cluster: "main",
        topic: "orders",
        subject: "shop.Order",
        format: "PROTOBUF",
        schema: 'syntax = "proto3";\nmessage Order { string id = 1; }',
        references: [{ name: "shop/common.proto", subject: "shop-common", version: 1 }],
      },
      description: "a named Protobuf subject with a reference",
    },
  ],
  invalid: [
    { name: "x", spec: { cluster: "main", topic: "orders" }, field: "schema", description: "no schema" },
    { name: "x", spec: { cluster: "nope", topic: "orders", schema: orderV1 }, field: "cluster" },
    { name: "x", spec: { cluster: "main", topic: "orders", schema: "{not json" }, field: "schema" },
    {
      name: "x",
      spec: { cluster: "main", topic: "orders", schema: avroRecord([{ name: "id", type: "strin" }]) },
      field: "schema",
      description: "an Avro type that does not exist",
    },
    {
      name: "x",
      spec: { cluster: "main", topic: "orders", format: "PROTOBUF", schema: "message Order { string id = ; }" },
      field: "schema",
      description: "a .proto file that does not parse",
    },
    {
      name: "x",
      spec: { cluster: "main", topic: "orders", format: "JSON", schema: '{"type":"strin"}' },
      field: "schema",
      description: "a JSON Schema its meta-schema refuses",
    },
    { name: "x", spec: { cluster: "main", topic: "orders", schema: orderV1, format: "XML" }, field: "format" },
    { name: "x", spec: { cluster: "main", topic: "orders", schema: orderV1, subject: "a/b" }, field: "subject" },
    {
      name: "x",
      spec: { cluster: "main", topic: "orders", schema: orderV1, compatibility: "LOOSE" },
      field: "compatibility",
    },
    {
      name: "x",
      spec: { cluster: "main", topic: "orders", schema: orderV1, part: "key" },
      previous: { cluster: "main", topic: "orders", schema: orderV1 },
      field: "part",
      description: "moving the subject",
    },
  ],
  sameIdentity: [
    {
      description: "a new schema and level",
      name: "orders-value",
      spec: { cluster: "main", topic: "orders", schema: orderV1 },
      edited: { cluster: "main", topic: "orders", schema: orderV2, compatibility: "FULL" },
    },
  ],
  real: {
    plugin: { module: pluginModule, export: "kafkaSchema" },
    async setup() {
      // A loaded machine starts both slowly.
      const [broker, registry] = await Promise.all([
        startKafka({ startTimeoutMs: 300_000 }),
        startSchemaRegistry({ startTimeoutMs: 300_000 }),
      ]);
      return {
        settings: { registries: { local: { url: registry.url } } },
        plugins: [
          {
            module: pluginModule,
            export: "kafkaTopic",
            settings: { clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } } },
          },
        ],
        stop: async () => {
          await Promise.all([registry.stop(), broker.stop()]);
        },
      };
    },
    // The subject is bound to a topic of the requester's team.
    prepare: (service) => applyTopic(service.client("requester"), topic, "payments"),
    create: { cluster: "local", topic, schema: orderV1 },
    update: { cluster: "local", topic, schema: orderV2, compatibility: "FULL" },
    async check({ spec, settings }) {
      const latest = await latestVersion(registryOf(settings), String(spec.subject));
      if (
        latest.status !== 200 ||
        JSON.stringify(JSON.parse(latest.body.schema!)) !== JSON.stringify(JSON.parse(String(spec.schema)))
      ) {
        throw new Error(
          `subject ${String(spec.subject)}: latest is ${JSON.stringify(latest)}, not the declared schema`,
        );
      }
      const level = await compatibilityOf(registryOf(settings), String(spec.subject));
      if (level !== spec.compatibility) throw new Error(`compatibility is ${level}, not ${String(spec.compatibility)}`);
    },
    async checkGone({ spec, settings }) {
      const latest = await latestVersion(registryOf(settings), String(spec.subject));
      if (latest.status !== 404) throw new Error(`subject ${String(spec.subject)} still answers ${latest.status}`);
    },
    drift: ({ spec, settings }) => deleteSubjectOutOfBand(registryOf(settings), String(spec.subject)),
    steps: { secrets: false },
  },
});
