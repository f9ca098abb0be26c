import { ChangeStatus, Code, ConnectError, ResourceStatus, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { type KafkaBroker, type SchemaRegistry, startKafka, startSchemaRegistry, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { type TestService, principals, principalsConfig } from "../../core/test/support/test-service.ts";
import type { SchemaSpecInput } from "../src/index.ts";
import {
  applyTopic,
  avroRecord,
  deleteSubjectOutOfBand,
  latestVersion,
  orderV1,
  orderV2,
  orderV3Incompatible,
  registerOutOfBand,
  setLevelOutOfBand,
  versionsOf,
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

  it("refuses a malformed schema before the registry sees it, with every other bad field at once", async () => {
    const avro = await refusal(
      as("requester").apply(
        "kafka.schema",
        "orders.placed-key",
        schema("orders.placed", avroRecord([{ name: "id", type: "strin" }]), {
          part: "key",
          compatibility: "LOOSE" as SchemaSpecInput["compatibility"],
        }),
      ),
    );
    expect(avro.code).toBe(Code.InvalidArgument);
    expect(avro.fields).toEqual([
      expect.objectContaining({ field: "spec.compatibility" }),
      {
        field: "spec.schema",
        reason: "INVALID_AVRO_SCHEMA",
        description: expect.stringContaining("undefined type name: shop.strin"),
      },
    ]);
    const proto = await refusal(
      as("requester").apply(
        "kafka.schema",
        "orders.placed-key",
        schema("orders.placed", 'syntax = "proto3";\nmessage Order { string id = ; }', {
          part: "key",
          format: "PROTOBUF",
        }),
      ),
    );
    expect(proto.fields).toEqual([
      { field: "spec.schema", reason: "INVALID_PROTOBUF_SCHEMA", description: expect.stringContaining("(line 2)") },
    ]);
    // Nothing reached the registry.
    expect(await versionsOf(registry.url, "orders.placed-key")).toEqual([]);
  });

  it("adopts a subject registered outside Plinth as it is; the change says exactly what adopting would change", async () => {
    await applyTopic(as("requester"), "adopt.events", "payments");
    // Written with other whitespace than the spec: the same schema, which the registry would store again as new text.
    const id = await registerOutOfBand(
      registry.url,
      "adopt.events-value",
      JSON.stringify(JSON.parse(orderV1), null, 2),
    );
    await setLevelOutOfBand(registry.url, "adopt.events-value", "BACKWARD");

    const unadopted = await refusal(
      as("requester").apply("kafka.schema", "adopt.events-value", schema("adopt.events", orderV1)),
    );
    expect(unadopted.code).toBe(Code.AlreadyExists);

    // A spec that differs from the subject: each difference, before anything is recorded.
    const preview = await as("requester").resources.previewResource({
      type: "kafka.schema",
      name: "adopt.events-value",
      spec: schema("adopt.events", orderV2, { adopt: true, compatibility: "FULL" }),
    });
    expect(preview.reviewReasons).toEqual(
      expect.arrayContaining([
        `subject "adopt.events-value" exists at version 1 (schema id ${id}); adopting it changes in the registry:`,
        "version 2 is registered with the declared schema",
        'subject "adopt.events-value": compatibility BACKWARD → FULL',
        'field "amount" added ("long", default 0)',
      ]),
    );

    // The subject as it is: nothing to change, reviewed, and nothing changed.
    const adopted = await as("requester").apply(
      "kafka.schema",
      "adopt.events-value",
      schema("adopt.events", orderV1, { adopt: true }),
    );
    expect(adopted.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(adopted.change?.reviewReasons).toEqual(
      expect.arrayContaining([
        `subject "adopt.events-value" exists at version 1 (schema id ${id}); adopting it changes nothing in the registry`,
      ]),
    );
    await as("reviewer").changes.approveChange({ id: adopted.change!.id, comment: "ours already" });
    expect((await as("requester").waitForChange(adopted.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(await versionsOf(registry.url, "adopt.events-value")).toEqual([1]);
    expect(await latestVersion(registry.url, "adopt.events-value")).toMatchObject({ body: { version: 1, id } });
    const { resource } = await as("requester").resources.getResource({
      type: "kafka.schema",
      name: "adopt.events-value",
    });
    expect(resource).toMatchObject({ ownerTeam: "payments", outputs: { version: 1, schemaId: id } });
  });

  it("checks compatibility again at claim: a version registered since submit refuses the change before it applies", async () => {
    await applyTopic(as("requester"), "claim.events", "payments");
    await succeeded(await as("requester").apply("kafka.schema", "claim.events-value", schema("claim.events", orderV1)));
    // Compatible with v1 when submitted; hard deletion holds it for a reviewer.
    const waiting = await as("requester").apply(
      "kafka.schema",
      "claim.events-value",
      schema("claim.events", orderV2, { deletion: "hard" }),
    );
    expect(waiting.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    // Meanwhile someone registers "amount" as a string: a reader on the waiting schema (a long) cannot read it.
    await registerOutOfBand(
      registry.url,
      "claim.events-value",
      avroRecord([
        { name: "id", type: "string" },
        { name: "amount", type: "string", default: "" },
      ]),
    );
    await as("reviewer").changes.approveChange({ id: waiting.change!.id, comment: "hard deletion is fine" });
    const ended = await as("requester").waitForChange(waiting.change!.id);
    expect(ended.status).toBe(ChangeStatus.FAILED);
    expect(ended.lastError).toContain("can no longer be allowed");
    expect(ended.lastError).toContain(
      'field "amount": incompatible with the latest version of subject "claim.events-value"',
    );
    // Refused before the engine ran: the registry has only its two versions.
    expect(ended.attempts).toBe(0);
    expect(await versionsOf(registry.url, "claim.events-value")).toEqual([1, 2]);
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
