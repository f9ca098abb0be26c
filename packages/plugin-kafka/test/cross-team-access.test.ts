import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChangeStatus, Code, ConnectError, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { type KafkaBroker, repoRoot, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "../../core/test/support/audit-rows.ts";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { type TestService, principals, principalsConfig } from "../../core/test/support/test-service.ts";
import { KafkaSettings } from "../src/cluster-settings.ts";
import type { TopicSpecInput, UserSpecInput } from "../src/index.ts";
import { withAdmin } from "../src/kafka-admin.ts";
import { describeScramUsers } from "../src/scram-users.ts";
import { clusterAclsByPrincipal } from "../src/user-verify.ts";
import { consumeAs, produceAs, refusal } from "./support/scram-clients.ts";

// Two teams on one cluster: orders owns the orders.* topics, payments wants to read them.
const people = {
  ...principals,
  otto: { id: "otto", team: "orders", roles: ["requester"] as const, token: "token-otto" },
  oriana: { id: "oriana", team: "orders", roles: ["reviewer"] as const, token: "token-oriana" },
  pablo: { id: "pablo", team: "payments", roles: ["reviewer"] as const, token: "token-pablo" },
  lena: { id: "lena", team: "ledger", roles: ["requester"] as const, token: "token-lena" },
};

// Everything real: server, worker, Pulumi with the Kafka provider, and a SCRAM broker enforcing ACLs.
describe("cross-team access is requested from the owner (issue 13)", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  let settings: KafkaSettings;
  beforeAll(async () => {
    // A loaded machine starts the broker slowly.
    broker = await startKafka({ scram: true, startTimeoutMs: 300_000 });
    settings = KafkaSettings.parse({
      clusters: {
        local: {
          bootstrapServers: [broker.bootstrapServers],
          brokers: 1,
          sasl: broker.sasl,
          quotas: {
            default: { users: 10 },
            teams: { payments: { topics: 1, partitions: 3 }, ledger: { partitions: 4 } },
          },
        },
        // The same broker under strict guardrails, for the documented reasons only they give (below).
        strict: {
          bootstrapServers: [broker.bootstrapServers],
          brokers: 1,
          sasl: broker.sasl,
          guardrails: {
            namingPattern: "[a-z]+\\.[a-z]+\\.v[0-9]+",
            minReplicationFactor: 2,
            allowedConfigs: ["cleanup.policy"],
            allowAllTopicsGrants: false,
          },
        },
      },
    });
    const plugin = (exportName: string) => ({ module: kafkaPluginModule, export: exportName, settings });
    service = await startRealService(broker.bootstrapServers, {
      config: {
        plugins: [plugin("kafkaTopic"), plugin("kafkaUser")],
        principals: principalsConfig(people),
      },
    });
  }, 400_000);
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });

  const as = (who: keyof typeof people) => createPlinthClient({ baseUrl: service.url, token: people[who].token });
  const topic = (team: string): TopicSpecInput => ({
    cluster: "local",
    owner: { team, contact: `#${team}` },
    partitions: 1,
  });
  const user = (team: string, spec: Partial<UserSpecInput>): UserSpecInput => ({
    cluster: "local",
    owner: { team, contact: `#${team}` },
    access: [{ topics: { prefix: "orders." }, operations: "read" }],
    ...spec,
  });
  const failure = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => {
        throw new Error("expected a refusal");
      },
      (caught: unknown) => caught,
    );
    return {
      code: ConnectError.from(error).code,
      fields: fieldViolations(error),
      message: ConnectError.from(error).rawMessage,
    };
  };

  it("refuses the cross-team read for the requester until a reviewer of the owner approves; then it works on the broker", async () => {
    // orders owns orders.placed, and a message is waiting in it.
    const placed = await as("otto").apply("kafka.topic", "orders.placed", topic("orders"));
    expect((await as("otto").waitForChange(placed.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    await produceAs(broker.bootstrapServers, broker.sasl!, "orders.placed", "order-1");

    // payments asks to read orders.*: not auto-approved, an access request to orders.
    const asked = await as("requester").apply("kafka.user", "payments-reader", user("payments", {}));
    const change = asked.change!;
    expect(change.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(change.accessRequests).toEqual([
      expect.objectContaining({
        field: "access.0.topics",
        ownerTeam: "orders",
        requesterTeam: "payments",
        access: "read topics orders.*",
      }),
    ]);
    expect(change.reviewReasons).toContain(
      "payments asks to read topics orders.* (owned by orders): a reviewer of orders must approve",
    );
    // Nothing exists on the broker while it waits: no credential, no ACL.
    await waitFor(
      async () => {
        const { change: seen } = await as("reviewer").changes.getChange({ id: change.id });
        if (!seen?.preview) throw new Error("no preview yet");
      },
      { what: "the preview of the access request", timeoutMs: 120_000 },
    );
    expect([...(await describeScramUsers(settings.clusters.local!)).keys()]).not.toContain("payments-reader");

    // A reviewer outside orders cannot give orders' consent; a requester of orders cannot review.
    const byPlatform = await as("reviewer").changes.approveChange({ id: change.id, comment: "platform is fine" });
    expect(byPlatform.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(await failure(as("otto").changes.approveChange({ id: change.id, comment: "me" }))).toMatchObject({
      code: Code.PermissionDenied,
    });
    const byOrders = await as("oriana").changes.approveChange({ id: change.id, comment: "billing may read orders" });
    expect(byOrders.change?.accessRequests[0]?.approvedBy).toEqual(["oriana"]);
    expect((await as("requester").waitForChange(change.id)).status).toBe(ChangeStatus.SUCCEEDED);

    // payments' user reads orders' topic with its own credentials; it still cannot write there.
    const password = (
      await as("requester").resources.revealSecret({ type: "kafka.user", name: "payments-reader", key: "password" })
    ).value?.kind.value as string;
    const login = { username: "payments-reader", password };
    expect(await consumeAs(broker.bootstrapServers, login, "orders.placed", "payments-reader.billing", "order-1")).toBe(
      "order-1",
    );
    expect(await refusal(produceAs(broker.bootstrapServers, login, "orders.placed", "forged"))).toContain(
      "TOPIC_AUTHORIZATION_FAILED",
    );

    // The grant is listed: who reads whose topics, approved by whom, since when.
    const { grants } = await as("otto").resources.listAccessGrants({ ownerTeam: "orders" });
    expect(grants).toEqual([
      expect.objectContaining({
        type: "kafka.user",
        name: "payments-reader",
        requesterTeam: "payments",
        ownerTeam: "orders",
        access: "read topics orders.*",
        approvedBy: ["oriana"],
        changeId: change.id,
      }),
    ]);
    expect(grants[0]?.since).toBeDefined();
  });

  it("lets orders revoke payments' read: a change on payments' user, and the broker refuses the read", async () => {
    // Only orders' reviewer may withdraw orders' consent; payments' requester narrows its own user as before.
    expect(
      await failure(
        as("otto").resources.revokeAccessGrant({
          type: "kafka.user",
          name: "payments-reader",
          field: "access.0.topics",
          requestId: "revoke-by-requester",
        }),
      ),
    ).toMatchObject({ code: Code.PermissionDenied });
    const revoked = await as("oriana").resources.revokeAccessGrant({
      type: "kafka.user",
      name: "payments-reader",
      field: "access.0.topics",
      requestId: "revoke-orders-read",
      comment: "billing moved to the settlement feed",
    });
    expect(revoked.change).toMatchObject({ requestedBy: "oriana", comment: "billing moved to the settlement feed" });
    // Issue 22: the revocation is orders' change on payments' user; payments can neither cancel nor reject it.
    expect(revoked.change?.team).toBe("orders");
    expect(
      await failure(as("requester").changes.cancelChange({ id: revoked.change!.id, comment: "we still need it" })),
    ).toMatchObject({ code: Code.PermissionDenied });
    expect(
      await failure(as("pablo").changes.rejectChange({ id: revoked.change!.id, comment: "we still need it" })),
    ).toMatchObject({ code: Code.PermissionDenied });
    // Deleting ACLs makes the engine preview destructive, which asks for a reviewer (not oriana, who submitted it).
    const previewed = await waitFor(
      async () => {
        const { change } = await as("reviewer").changes.getChange({ id: revoked.change!.id });
        if (!change?.preview && change?.status !== ChangeStatus.SUCCEEDED) throw new Error("no preview yet");
        return change;
      },
      { what: "the preview of the revocation", timeoutMs: 180_000 },
    );
    if (previewed.status === ChangeStatus.PENDING_REVIEW) {
      await as("reviewer").changes.approveChange({ id: previewed.id, comment: "orders withdrew its consent" });
    }
    expect((await as("oriana").waitForChange(revoked.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    expect((await as("requester").get("kafka.user", "payments-reader")).spec).toMatchObject({ access: [] });
    expect((await as("otto").resources.listAccessGrants({ ownerTeam: "orders" })).grants).toEqual([]);

    // The same password still logs in, but orders' topic is closed to it.
    const password = (
      await as("requester").resources.revealSecret({ type: "kafka.user", name: "payments-reader", key: "password" })
    ).value?.kind.value as string;
    const login = { username: "payments-reader", password };
    expect(
      await refusal(
        consumeAs(broker.bootstrapServers, login, "orders.placed", "payments-reader.after", "order-1", 60_000, 0),
      ),
    ).toMatch(/AUTHORIZATION_FAILED/);
  });

  it("treats consumer-group prefixes as owned: joining another team's groups is an access request", async () => {
    // orders' own user claims the groups prefixed with its name, approved automatically.
    const app = await as("otto").apply("kafka.user", "orders-app", user("orders", {}));
    expect(app.change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await as("otto").waitForChange(app.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    // payments' user asking for groups under that prefix (and orders' topics) asks orders.
    const sneak = await as("requester").apply(
      "kafka.user",
      "payments-sneak",
      user("payments", { consumerGroups: { prefix: "orders-app." } }),
    );
    expect(sneak.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(sneak.change?.accessRequests.map((request) => [request.field, request.ownerTeam, request.access])).toEqual([
      ["access.0.topics", "orders", "read topics orders.*"],
      ["consumerGroups", "orders", "join consumer groups orders-app.*"],
    ]);
    await as("requester").changes.cancelChange({ id: sneak.change!.id, comment: "asked the wrong team" });
  });

  it("refuses a grant on prefixes no team owns to the requester; an admin's override is reviewed and audited", async () => {
    // No managed topic starts with refunds., and nobody's consumer groups start with shared-.
    const early = user("payments", {
      access: [{ topics: { prefix: "refunds." }, operations: "read" }],
      consumerGroups: { prefix: "shared-" },
    });
    const refused = await failure(as("requester").apply("kafka.user", "payments-early", early));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields.map((violation) => violation.field)).toEqual(["spec.access.0.topics", "spec.consumerGroups"]);
    expect(refused.fields[1]?.description).toContain("asks to join consumer groups shared-*, which no team owns yet");
    expect(refused.fields[0]?.description).toContain("asks to read topics refunds.*, which no team owns yet");
    expect(refused.fields[0]?.description).toContain('No managed topic on cluster "local" starts with "refunds."');

    const overridden = await as("admin").resources.applyResource({
      type: "kafka.user",
      name: "payments-early",
      spec: early,
      requestId: "early-override",
      overrideGuardrails: true,
    });
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.change?.reviewReasons.join(" ")).toContain(
      "admin override of guardrails: spec.access.0.topics: asks to read topics refunds.*, which no team owns yet",
    );
    expect(auditRows(service.dataDir, "kafka.user/payments-early")).toEqual([
      { principal: "ada", action: "override-guardrails" },
    ]);
    await as("admin").changes.cancelChange({ id: overridden.change!.id, comment: "only showing the override" });

    // Once orders owns a topic under the prefix, the same grant is an ordinary access request to orders.
    const refund = await as("otto").apply("kafka.topic", "refunds.issued", topic("orders"));
    expect((await as("otto").waitForChange(refund.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const asked = await as("requester").apply("kafka.user", "payments-early", {
      ...early,
      consumerGroups: undefined,
    });
    expect(asked.change?.accessRequests.map((request) => [request.field, request.ownerTeam])).toEqual([
      ["access.0.topics", "orders"],
    ]);
    await as("requester").changes.cancelChange({ id: asked.change!.id, comment: "only showing the request" });
  });

  it("refuses Kafka's internal names to requesters, and a topic owned by another team", async () => {
    const internal = await failure(
      as("requester").apply(
        "kafka.user",
        "payments-offsets",
        user("payments", {
          access: [{ topics: { prefix: "__consumer" }, operations: "read" }],
          consumerGroups: { prefix: "__consumer" },
        }),
      ),
    );
    expect(internal.code).toBe(Code.InvalidArgument);
    expect(internal.fields.map((violation) => violation.field)).toEqual([
      "spec.access.0.topics.prefix",
      "spec.consumerGroups.prefix",
    ]);
    // The owner in the spec is the owning team: payments cannot label a topic as someone else's.
    expect(await failure(as("requester").apply("kafka.topic", "orders.forged", topic("orders")))).toMatchObject({
      code: Code.PermissionDenied,
    });
  });

  it("bounds topic configs per cluster: tiny segments are refused with the allowed range; an admin override is reviewed", async () => {
    const tiny = { ...topic("payments"), config: { "segment.ms": 1, "segment.bytes": 1024 } };
    const refused = await failure(as("requester").apply("kafka.topic", "payments.tiny", tiny));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields.map((violation) => [violation.field, violation.description])).toEqual([
      ["spec.config.segment.ms", expect.stringContaining("at least 1 hour (3600000)")],
      ["spec.config.segment.bytes", expect.stringContaining("at least 1 MiB (1048576)")],
    ]);
    const overridden = await as("admin").resources.applyResource({
      type: "kafka.topic",
      name: "payments.tiny",
      spec: tiny,
      requestId: "tiny-override",
      overrideGuardrails: true,
    });
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.resource?.ownerTeam).toBe("payments");
    expect(overridden.change?.reviewReasons.join(" ")).toContain(
      "admin override of guardrails: spec.config.segment.ms",
    );
    await as("admin").changes.cancelChange({ id: overridden.change!.id, comment: "only showing the override" });
    // Unclean leader election is never self-service.
    const unclean = await as("requester").apply("kafka.topic", "payments.unclean", {
      ...topic("payments"),
      config: { "unclean.leader.election.enable": true },
    });
    expect(unclean.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await as("requester").changes.cancelChange({ id: unclean.change!.id, comment: "only showing the review" });
  });

  it("keeps a team within its quotas on the cluster: RESOURCE_EXHAUSTED with usage and limit; GetTeamUsage shows them", async () => {
    const one = await as("requester").apply("kafka.topic", "payments.one", topic("payments"));
    expect((await as("requester").waitForChange(one.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const second = await failure(as("requester").apply("kafka.topic", "payments.two", topic("payments")));
    expect(second.code).toBe(Code.ResourceExhausted);
    expect(second.message).toContain(
      'team payments is over its kafka.topic quota on "local": topics: would use 2 of 1',
    );
    const wider = await failure(
      as("requester").apply("kafka.topic", "payments.one", { ...topic("payments"), partitions: 4 }),
    );
    expect(wider.code).toBe(Code.ResourceExhausted);
    expect(wider.message).toContain("partitions: would use 4 of 3 (uses 1 now)");
    // Another team's quota is its own: orders has no topic limit.
    expect((await as("otto").apply("kafka.topic", "orders.shipped", topic("orders"))).change?.status).not.toBe(
      ChangeStatus.PENDING_REVIEW,
    );

    const usage = await as("requester").resources.getTeamUsage({});
    expect(usage.team).toBe("payments");
    const row = (type: string, metric: string) =>
      usage.usage.find((entry) => entry.type === type && entry.scope === "local" && entry.metric === metric);
    expect(row("kafka.topic", "topics")).toMatchObject({ used: 1, limit: 1 });
    expect(row("kafka.topic", "partitions")).toMatchObject({ used: 1, limit: 3 });
    expect(row("kafka.user", "users")).toMatchObject({ used: 1, limit: 10 });
  });
  // Issue 29: bad input is never retryable and comes back all at once, with the reasons the docs promise.
  describe("bad input through the SDK", () => {
    const orders = { team: "orders", contact: "#orders" };
    const topicSpec = (spec: Partial<TopicSpecInput> = {}): TopicSpecInput => ({
      cluster: "local",
      owner: orders,
      partitions: 1,
      ...spec,
    });
    const userSpec = (spec: Partial<UserSpecInput> = {}): UserSpecInput => ({
      cluster: "local",
      owner: orders,
      access: [{ topics: { prefix: "reasons." }, operations: "read" }],
      ...spec,
    });
    beforeAll(async () => {
      // Desired states the transition rules judge against: the creates need not have applied yet.
      await as("otto").apply("kafka.topic", "reasons.topic", topicSpec({ partitions: 2, protect: true }));
      await as("otto").apply("kafka.user", "reasons-app", userSpec({ rotation: 1 }));
    });

    it("answers an unknown cluster with INVALID_ARGUMENT, which the SDK does not retry", async () => {
      let retries = 0;
      const client = createPlinthClient({
        baseUrl: service.url,
        token: people.otto.token,
        retry: { maxAttempts: 3, sleep: async () => void retries++ },
      });
      const refused = await failure(client.apply("kafka.topic", "reasons.nowhere", topicSpec({ cluster: "nope" })));
      expect(refused.code).toBe(Code.InvalidArgument);
      expect(refused.fields).toEqual([
        {
          field: "spec.cluster",
          reason: "UNKNOWN_CLUSTER",
          description: expect.stringMatching(/local.*strict|strict.*local/),
        },
      ]);
      expect(retries).toBe(0);
    });

    it("answers a bad name, a bad spec and an unknown cluster in one reply, with a suggestion for a typo", async () => {
      const spec = { ...topicSpec({ cluster: "nope", partitions: -1 }), partitons: 3 };
      const refused = await failure(as("otto").apply("kafka.topic", "bad name!", spec as TopicSpecInput));
      expect(refused.code).toBe(Code.InvalidArgument);
      expect(refused.fields).toEqual([
        { field: "spec.partitions", reason: "TOO_SMALL", description: "must be at least 1" },
        {
          field: "spec.partitons",
          reason: "UNKNOWN_FIELD",
          description: 'is not a known field; did you mean "partitions"?',
        },
        { field: "name", reason: "INVALID_TOPIC_NAME", description: expect.stringContaining("ASCII letters") },
        { field: "spec.cluster", reason: "UNKNOWN_CLUSTER", description: expect.stringContaining("local") },
      ]);
    });

    // Every reason docs/kafka.md lists in its tables, each produced through the API.
    const cases: Record<string, () => Promise<unknown>> = {
      INVALID_TOPIC_NAME: () => as("otto").apply("kafka.topic", "a".repeat(250), topicSpec()),
      RESERVED_TOPIC_NAME: () => as("otto").apply("kafka.topic", "__reasons", topicSpec()),
      UNKNOWN_CLUSTER: () => as("otto").apply("kafka.user", "reasons-far", userSpec({ cluster: "nope" })),
      CLUSTER_CHANGE: () => as("otto").apply("kafka.topic", "reasons.topic", topicSpec({ cluster: "strict" })),
      PARTITIONS_DECREASE: () => as("otto").apply("kafka.topic", "reasons.topic", topicSpec({ protect: true })),
      REPLICATION_EXCEEDS_BROKERS: () =>
        as("otto").apply("kafka.topic", "reasons.rf", topicSpec({ replicationFactor: 2 })),
      MIN_ISR_EXCEEDS_REPLICATION: () =>
        as("otto").apply(
          "kafka.topic",
          "reasons.isr",
          topicSpec({ replicationFactor: 1, config: { "min.insync.replicas": 2 } }),
        ),
      THROUGHPUT_INCONSISTENT: () =>
        as("otto").apply(
          "kafka.topic",
          "reasons.tp",
          topicSpec({ throughput: { peakMessagesPerSecond: 1, averageMessageBytes: 2000, maxMessageBytes: 1000 } }),
        ),
      MESSAGE_LIMIT_BELOW_DECLARED: () =>
        as("otto").apply(
          "kafka.topic",
          "reasons.limit",
          topicSpec({
            throughput: { peakMessagesPerSecond: 1, averageMessageBytes: 100, maxMessageBytes: 2000 },
            config: { "max.message.bytes": 1500 },
          }),
        ),
      PROTECTED: () => as("otto").delete("kafka.topic", "reasons.topic"),
      GUARDRAIL_NAMING: () => as("otto").apply("kafka.topic", "reasons-badname", topicSpec({ cluster: "strict" })),
      GUARDRAIL_MAX_PARTITIONS: () => as("otto").apply("kafka.topic", "reasons.wide", topicSpec({ partitions: 121 })),
      GUARDRAIL_MIN_REPLICATION_FACTOR: () =>
        as("otto").apply("kafka.topic", "reasons.strict.v1", topicSpec({ cluster: "strict", replicationFactor: 1 })),
      GUARDRAIL_RETENTION: () =>
        as("otto").apply("kafka.topic", "reasons.short", topicSpec({ config: { "retention.ms": 1000 } })),
      GUARDRAIL_MAX_MESSAGE_BYTES: () =>
        as("otto").apply("kafka.topic", "reasons.huge", topicSpec({ config: { "max.message.bytes": 9_000_000 } })),
      GUARDRAIL_CONFIG_NOT_ALLOWED: () =>
        as("otto").apply(
          "kafka.topic",
          "reasons.config.v1",
          topicSpec({ cluster: "strict", config: { "compression.type": "zstd" } }),
        ),
      GUARDRAIL_MIN_SEGMENT: () =>
        as("otto").apply("kafka.topic", "reasons.segment", topicSpec({ config: { "segment.ms": 1 } })),
      GUARDRAIL_CLEANABLE_RATIO: () =>
        as("otto").apply("kafka.topic", "reasons.ratio", topicSpec({ config: { "min.cleanable.dirty.ratio": 0.01 } })),
      INVALID_USER_NAME: () => as("otto").apply("kafka.user", "bad user!", userSpec()),
      RESERVED_USER_NAME: () => as("otto").apply("kafka.user", "ANONYMOUS", userSpec()),
      INVALID_PREFIX: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-prefix",
          userSpec({ access: [{ topics: { prefix: "a b" }, operations: "read" }] }),
        ),
      DUPLICATE_GRANT: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-twice",
          userSpec({
            access: [
              { topics: { prefix: "reasons." }, operations: "read" },
              { topics: { prefix: "reasons." }, operations: "write" },
            ],
          }),
        ),
      ROTATION_DECREASE: () => as("otto").apply("kafka.user", "reasons-app", userSpec({ rotation: 0 })),
      NO_ACCESS: () => as("otto").apply("kafka.user", "reasons-none", userSpec({ access: [] })),
      GUARDRAIL_PREFIX_LENGTH: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-short",
          userSpec({ access: [{ topics: { prefix: "re" }, operations: "read" }] }),
        ),
      GUARDRAIL_ALL_TOPICS: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-all",
          userSpec({ cluster: "strict", access: [{ topics: "all", operations: "read" }] }),
        ),
      INTERNAL_NAMES: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-internal",
          userSpec({ access: [{ topics: { prefix: "__consumer" }, operations: "read" }] }),
        ),
      UNOWNED_REACH: () =>
        as("otto").apply(
          "kafka.user",
          "reasons-unowned",
          userSpec({ access: [{ topics: { prefix: "nobody.owns." }, operations: "read" }] }),
        ),
    };
    const transitions = new Set(["PARTITIONS_DECREASE", "PROTECTED", "ROTATION_DECREASE"]);

    it("has a case for every reason docs/kafka.md lists", () => {
      const documented = new Set<string>();
      // The rows of the tables whose second column is headed "reason" (other tables list values, not reasons).
      let inReasonTable = false;
      for (const line of readFileSync(join(repoRoot, "docs/kafka.md"), "utf8").split("\n")) {
        if (!line.startsWith("|")) inReasonTable = false;
        else if (!line.startsWith("| `") && !line.startsWith("| -"))
          inReasonTable = line.split("|")[2]?.trim() === "reason";
        const reasonCell = inReasonTable && line.startsWith("| `") ? line.split("|")[2] : undefined;
        for (const match of reasonCell?.matchAll(/`([A-Z][A-Z_]+)`/g) ?? []) documented.add(match[1]!);
      }
      expect([...documented].sort()).toEqual(Object.keys(cases).sort());
    });

    it.each(Object.keys(cases))("answers %s through the API, with its field", async (reason) => {
      const refused = await failure(cases[reason]!());
      expect(refused.code).toBe(transitions.has(reason) ? Code.FailedPrecondition : Code.InvalidArgument);
      expect(refused.fields.map((violation) => violation.reason)).toContain(reason);
    });
  });

  // Issue 22: a verdict belongs to the transition that is applied, not to the one seen at submit.
  it("asks the owner again when the change ahead that carried its request is cancelled", async () => {
    const owned = await as("otto").apply("kafka.topic", "orders.basis", topic("orders"));
    expect((await as("otto").waitForChange(owned.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    // payments' user reads orders' topics, with orders' consent.
    const base = await as("requester").apply("kafka.user", "payments-basis", user("payments", {}));
    await as("oriana").changes.approveChange({ id: base.change!.id, comment: "payments may read" });
    expect((await as("requester").waitForChange(base.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);

    const wide = user("payments", { access: [{ topics: { prefix: "orders." }, operations: "read-write" }] });
    const c1 = (await as("requester").apply("kafka.user", "payments-basis", wide)).change!;
    expect(c1.accessRequests.map((request) => request.ownerTeam)).toEqual(["orders"]);
    // C2 is C1's spec with a new description: at submit it asks nothing more than C1 already asks.
    const c2 = (await as("requester").apply("kafka.user", "payments-basis", { ...wide, description: "billing" }))
      .change!;
    await as("requester").changes.cancelChange({ id: c1.id, comment: "withdrawn" });
    // Once C1 is gone, C2 starts from the applied user, which has no grant: orders must be asked.
    const judged = await waitFor(
      async () => {
        const { change } = await as("requester").changes.getChange({ id: c2.id });
        if (change?.status === ChangeStatus.QUEUED || change?.status === ChangeStatus.APPLYING) {
          throw new Error(`C2 is still ${ChangeStatus[change.status]}`);
        }
        return change!;
      },
      { what: "C2 judged against the applied user", timeoutMs: 180_000 },
    );
    expect(judged.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(judged.accessRequests.map((request) => [request.ownerTeam, request.access])).toEqual([
      ["orders", "read and write topics orders.*"],
    ]);
    expect((await as("requester").get("kafka.user", "payments-basis")).spec).toMatchObject({
      access: [{ topics: { prefix: "orders." }, operations: "read" }],
    });
    await as("requester").changes.cancelChange({ id: c2.id, comment: "only showing the review" });
  });

  it("counts pending increases against the quota: two submitted back to back cannot together exceed it", async () => {
    const ledger = (partitions: number, config: Record<string, unknown> = {}) => ({
      ...topic("ledger"),
      partitions,
      config,
    });
    const created = await Promise.all([
      as("lena").apply("kafka.topic", "ledger.a", ledger(1)),
      as("lena").apply("kafka.topic", "ledger.b", ledger(1)),
    ]);
    for (const { change } of created) {
      expect((await as("lena").waitForChange(change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    }
    // The first increase waits for a reviewer (unclean election is never self-service): it is not applied yet.
    const first = await as("lena").apply(
      "kafka.topic",
      "ledger.a",
      ledger(3, { "unclean.leader.election.enable": true }),
    );
    expect(first.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const second = await failure(as("lena").apply("kafka.topic", "ledger.b", ledger(3)));
    expect(second.code).toBe(Code.ResourceExhausted);
    expect(second.message).toContain("partitions: would use 6 of 4");
    await as("lena").changes.cancelChange({ id: first.change!.id, comment: "only showing the quota" });
  });

  it("reconciles on top of an open change instead of undoing it", async () => {
    const created = await as("otto").apply("kafka.topic", "orders.mended", topic("orders"));
    expect((await as("otto").waitForChange(created.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const wanted = {
      ...topic("orders"),
      config: { "retention.ms": 7_200_000, "unclean.leader.election.enable": true },
    };
    const open = (await as("otto").apply("kafka.topic", "orders.mended", wanted)).change!;
    expect(open.status).toBe(ChangeStatus.PENDING_REVIEW);
    const reconcile = await as("otto").resources.reconcileResource({
      type: "kafka.topic",
      name: "orders.mended",
      requestId: "reconcile-mended",
    });
    await as("oriana").changes.approveChange({ id: open.id, comment: "ok" });
    expect((await as("otto").waitForChange(open.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const repaired = await as("otto").changes.getChange({ id: reconcile.change!.id });
    if (repaired.change?.status === ChangeStatus.PENDING_REVIEW) {
      await as("oriana").changes.approveChange({ id: reconcile.change!.id, comment: "ok" });
    }
    expect((await as("otto").waitForChange(reconcile.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    expect((await as("otto").get("kafka.topic", "orders.mended")).spec).toMatchObject({
      config: { "retention.ms": 7_200_000, "unclean.leader.election.enable": true },
    });
  });
  it("asks the owner again when a failed grant is retried after another team made a topic under its prefix", async () => {
    // payments' grant covers only payments' own topic when it is asked for: no access request.
    const late = user("payments", { access: [{ topics: { prefix: "payments.one" }, operations: "read-write" }] });
    const grant = (await as("requester").apply("kafka.user", "payments-late", late)).change!;
    expect(grant.accessRequests).toEqual([]);
    expect(grant.status).toBe(ChangeStatus.PENDING_REVIEW);
    // While it waits, payments deletes that topic: at claim the grant reaches what nobody owns, and fails.
    const gone = await as("requester").delete("kafka.topic", "payments.one");
    await as("reviewer").changes.approveChange({ id: gone.change!.id, comment: "payments.one is unused" });
    expect((await as("requester").waitForChange(gone.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    await as("pablo").changes.approveChange({ id: grant.id, comment: "payments may write its own topics" });
    const failed = await as("requester").waitForChange(grant.id);
    expect(failed.status).toBe(ChangeStatus.FAILED);
    expect(failed.lastError).toContain("can no longer be allowed");
    expect(failed.lastError).toContain("which no team owns yet");

    // orders makes a topic under the prefix; retrying the grant now reaches into orders, so orders is asked.
    const mirror = await as("otto").apply("kafka.topic", "payments.one-mirror", topic("orders"));
    expect((await as("otto").waitForChange(mirror.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const retried = (await as("requester").changes.retryChange({ id: grant.id })).change!;
    expect(retried.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(retried.accessRequests.map((request) => [request.ownerTeam, request.access])).toEqual([
      ["orders", "read and write topics payments.one*"],
    ]);
    // payments' own approval stays, and is not orders' consent; orders' is.
    expect(retried.reviews.map((review) => review.reviewer)).toEqual(["pablo"]);
    await as("oriana").changes.approveChange({ id: grant.id, comment: "payments may use the mirror" });
    expect((await as("requester").waitForChange(grant.id)).status).toBe(ChangeStatus.SUCCEEDED);
  });

  it("keeps topics: all an admin's reviewed grant, and keeps every grant out of Kafka's internal topics", async () => {
    const everything = (team: string, name: string): UserSpecInput => ({
      ...user(team, { access: [{ topics: "all", operations: "read" }] }),
      cluster: "strict",
      consumerGroups: { prefix: name },
    });
    // A requester may not grant all topics: it covers every team's, including those made later.
    const refused = await failure(
      as("requester").apply("kafka.user", "payments-all", everything("payments", "payments-all")),
    );
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields.map((violation) => [violation.field, violation.reason])).toContainEqual([
      "spec.access.0.topics",
      "UNOWNED_REACH",
    ]);
    expect(refused.fields.find((violation) => violation.reason === "UNOWNED_REACH")?.description).toContain(
      "only an admin grants it",
    );
    // No grant reaches a "__" name, not even an admin's override.
    const internal = await failure(
      as("admin").resources.applyResource({
        type: "kafka.user",
        name: "platform-offsets",
        spec: user("platform", { access: [{ topics: { prefix: "__consumer" }, operations: "read" }] }),
        requestId: "offsets-override",
        overrideGuardrails: true,
      }),
    );
    expect(internal.code).toBe(Code.InvalidArgument);
    expect(internal.fields.map((violation) => [violation.field, violation.reason])).toEqual([
      ["spec.access.0.topics.prefix", "INTERNAL_NAMES"],
    ]);

    // An admin's grant on all topics is reviewed and audited; on the broker it reads topics, but not "__" ones.
    const granted = await as("admin").resources.applyResource({
      type: "kafka.user",
      name: "platform-all",
      spec: everything("platform", "platform-all"),
      requestId: "all-override",
      overrideGuardrails: true,
    });
    expect(granted.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    await as("reviewer").changes.approveChange({ id: granted.change!.id, comment: "the platform's auditor" });
    expect((await as("admin").waitForChange(granted.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const password = (
      await as("admin").resources.revealSecret({ type: "kafka.user", name: "platform-all", key: "password" })
    ).value?.kind.value as string;
    const login = { username: "platform-all", password };
    expect(await consumeAs(broker.bootstrapServers, login, "orders.placed", "platform-all.audit", "order-1")).toBe(
      "order-1",
    );
    // Kafka's internal topics are kept out by a DENY, which Kafka's authorizer lets win over every ALLOW.
    // (Consuming __consumer_offsets to see the refusal crashes the client library instead of rejecting.)
    const held = await withAdmin(settings.clusters.strict!, (admin) => clusterAclsByPrincipal(admin, "platform-all"));
    expect(held.get("User:platform-all")?.known).toContainEqual({
      resourceType: "Topic",
      patternType: "Prefixed",
      resourceName: "__",
      operation: "Read",
      deny: true,
    });
  });
});
