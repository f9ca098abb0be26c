import { ChangeStatus, Code, ConnectError, ResourceStatus, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { type KafkaBroker, type SchemaRegistry, startKafka, startSchemaRegistry, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { type TestService, principals, principalsConfig } from "../../core/test/support/test-service.ts";
import type { SchemaSpecInput } from "../src/index.ts";
import {
  applyTopic,
  deleteSubjectOutOfBand,
  latestVersion,
  orderV1,
  orderV2,
  orderV3Incompatible,
} from "./support/schema-fixtures.ts";

// payments owns its topics; orders (otto) owns orders.shipped.
const people = {
  ...principals,
  otto: { id: "otto", team: "orders", roles: ["requester"] as const, token: "token-otto" },
};

// Everything real: server, worker, Pulumi (the Kafka provider and the schema dynamic provider), broker, registry.
describe("kafka.schema on a real schema registry (issue 26)", { timeout: 900_000 }, () => {
  let broker: KafkaBroker;
  let registry: SchemaRegistry;
  let service: TestService;
  beforeAll(async () => {
    // A loaded machine starts both slowly.
    [broker, registry] = await Promise.all([
      startKafka({ startTimeoutMs: 300_000 }),
      startSchemaRegistry({ startTimeoutMs: 300_000 }),
    ]);
    service = await startRealService(broker.bootstrapServers, {
      config: {
        plugins: [
          {
            module: kafkaPluginModule,
            export: "kafkaTopic",
            settings: { clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } } },
          },
          {
            module: kafkaPluginModule,
            export: "kafkaSchema",
            settings: { registries: { local: { url: registry.url } } },
          },
        ],
        principals: principalsConfig(people),
        reconcile: { intervalMs: 500 },
      },
    });
    await applyTopic(as("requester"), "orders.placed", "payments");
  }, 600_000);
  afterAll(async () => {
    await service?.close();
    await Promise.all([registry?.stop(), broker?.stop()]);
  });

  const as = (who: keyof typeof people) => createPlinthClient({ baseUrl: service.url, token: people[who].token });
  const schema = (topic: string, text: string, extra: Partial<SchemaSpecInput> = {}): SchemaSpecInput => ({
    cluster: "local",
    topic,
    schema: text,
    ...extra,
  });
  const refusal = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => {
        throw new Error("expected a refusal");
      },
      (caught: unknown) => caught,
    );
    return { code: ConnectError.from(error).code, fields: fieldViolations(error) };
  };
  const succeeded = async (applied: { change?: { id: string } }) => {
    expect(applied.change).toBeDefined();
    expect((await as("requester").waitForChange(applied.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
  };

  it("applies a compatible evolution, says what changed before it is applied, and reads it back from the registry", async () => {
    await succeeded(
      await as("requester").apply("kafka.schema", "orders.placed-value", schema("orders.placed", orderV1)),
    );
    expect(await latestVersion(registry.url, "orders.placed-value")).toMatchObject({
      status: 200,
      body: { version: 1 },
    });

    const preview = await as("requester").resources.previewResource({
      type: "kafka.schema",
      name: "orders.placed-value",
      spec: schema("orders.placed", orderV2),
    });
    expect(preview.reviewReasons).toEqual(
      expect.arrayContaining([
        'field "amount" added ("long", default 0)',
        "the registry finds it compatible with the latest version under BACKWARD",
      ]),
    );

    await succeeded(
      await as("requester").apply("kafka.schema", "orders.placed-value", schema("orders.placed", orderV2)),
    );
    const latest = await latestVersion(registry.url, "orders.placed-value");
    expect(latest).toMatchObject({ status: 200, body: { version: 2 } });
    expect(JSON.parse(latest.body.schema!)).toEqual(JSON.parse(orderV2));
    const { resource } = await as("requester").resources.getResource({
      type: "kafka.schema",
      name: "orders.placed-value",
    });
    expect(resource?.outputs).toMatchObject({ subject: "orders.placed-value", version: 2, compatibility: "BACKWARD" });
  });

  it("refuses an incompatible schema before review, naming the field; an admin's override is held for review", async () => {
    const refused = await refusal(
      as("requester").apply("kafka.schema", "orders.placed-value", schema("orders.placed", orderV3Incompatible)),
    );
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields).toEqual([
      expect.objectContaining({ field: "spec.schema", description: expect.stringContaining('field "currency"') }),
    ]);
    // Nothing recorded, nothing registered.
    expect(await latestVersion(registry.url, "orders.placed-value")).toMatchObject({ body: { version: 2 } });

    const overridden = await as("admin").apply(
      "kafka.schema",
      "orders.placed-value",
      schema("orders.placed", orderV3Incompatible),
      { overrideGuardrails: true },
    );
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.change?.reviewReasons.join("\n")).toContain('field "currency"');
    await as("admin").changes.cancelChange({ id: overridden.change!.id, comment: "test: held as expected" });

    // NONE skips the check (anything goes) and needs a reviewer of its own.
    const none = await as("admin").apply(
      "kafka.schema",
      "orders.placed-value",
      schema("orders.placed", orderV3Incompatible, { compatibility: "NONE" }),
    );
    expect(none.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(none.change?.reviewReasons.join("\n")).toContain("compatibility NONE");
    await as("admin").changes.cancelChange({ id: none.change!.id, comment: "test: held as expected" });
  });

  it("refuses a subject on another team's topic, and on a topic Plinth does not manage", async () => {
    await applyTopic(as("otto"), "orders.shipped", "orders");
    const foreign = await refusal(
      as("requester").apply("kafka.schema", "orders.shipped-value", schema("orders.shipped", orderV1)),
    );
    expect(foreign.code).toBe(Code.InvalidArgument);
    expect(foreign.fields).toEqual([
      expect.objectContaining({
        field: "spec.topic",
        description: expect.stringContaining("which only team orders (its owner) may do"),
      }),
    ]);
    const unmanaged = await refusal(as("requester").apply("kafka.schema", "nowhere-value", schema("nowhere", orderV1)));
    expect(unmanaged.fields).toEqual([
      expect.objectContaining({ field: "spec.topic", description: expect.stringContaining("which no team owns yet") }),
    ]);
    // The topic's own team may.
    await succeeded(await as("otto").apply("kafka.schema", "orders.shipped-value", schema("orders.shipped", orderV1)));
  });

  it("shows a topic's subjects with the topic, and tells whoever deletes the topic about them", async () => {
    const topic = await as("requester").get("kafka.topic", "orders.placed");
    expect(topic.dependents).toEqual([expect.stringContaining('schema subject "orders.placed-value"')]);
    const deleting = await as("requester").delete("kafka.topic", "orders.placed");
    expect(deleting.change?.reviewReasons).toEqual(
      expect.arrayContaining([expect.stringContaining('schema subject "orders.placed-value"')]),
    );
    if (deleting.change?.status === ChangeStatus.PENDING_REVIEW) {
      await as("requester").changes.cancelChange({ id: deleting.change.id, comment: "test: told as expected" });
    }
  });

  it("notices a subject deleted out of band as drift", async () => {
    await applyTopic(as("requester"), "drift.events", "payments");
    await succeeded(await as("requester").apply("kafka.schema", "drift.events-value", schema("drift.events", orderV1)));
    await deleteSubjectOutOfBand(registry.url, "drift.events-value");
    await waitFor(
      async () => {
        const { resource } = await as("requester").resources.getResource({
          type: "kafka.schema",
          name: "drift.events-value",
        });
        if (resource?.status !== ResourceStatus.DRIFTED)
          throw new Error(`still ${ResourceStatus[resource?.status ?? 0]}`);
      },
      { what: "drift.events-value drifted", timeoutMs: 300_000 },
    );
  });
});
