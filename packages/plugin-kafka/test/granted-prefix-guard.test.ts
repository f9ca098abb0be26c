import { ChangeStatus, Code, ConnectError, createPlinthClient, fieldViolations } from "@plinth/sdk";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "../../core/test/support/audit-rows.ts";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { type TestService, principals, principalsConfig } from "../../core/test/support/test-service.ts";
import { KafkaSettings } from "../src/cluster-settings.ts";
import type { TopicSpecInput, UserSpecInput } from "../src/index.ts";
import { listClusterTopics } from "../src/list-cluster-topics.ts";
import { consumeAs, produceAs, refusal } from "./support/scram-clients.ts";
import { BadRequestSchema } from "../../sdk/src/gen/google/rpc/error_details_pb.ts";

// Three teams on one cluster: payments owns pay* and bill*, analytics reads them, orders names a topic into them.
const people = {
  ...principals,
  paula: { id: "paula", team: "payments", roles: ["reviewer"] as const, token: "token-paula" },
  andy: { id: "andy", team: "analytics", roles: ["requester"] as const, token: "token-andy" },
  otto: { id: "otto", team: "orders", roles: ["requester"] as const, token: "token-otto" },
};

// Everything real: server, worker, Pulumi with the Kafka provider, and a SCRAM broker enforcing ACLs.
describe("a new resource never falls silently under another team's grant", { timeout: 900_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  let settings: KafkaSettings;
  beforeAll(async () => {
    // A loaded machine starts the broker slowly.
    broker = await startKafka({ scram: true, startTimeoutMs: 300_000 });
    settings = KafkaSettings.parse({
      clusters: {
        local: { bootstrapServers: [broker.bootstrapServers], brokers: 1, sasl: broker.sasl },
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
  const reader = (prefixes: string[]): UserSpecInput => ({
    cluster: "local",
    owner: { team: "analytics", contact: "#analytics" },
    access: prefixes.map((prefix) => ({ topics: { prefix }, operations: "read" as const })),
  });
  const failure = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => {
        throw new Error("expected a refusal");
      },
      (caught: unknown) => caught,
    );
    // The SDK's fieldViolations leaves out the machine-readable reason; read it from the details.
    const reasons = ConnectError.from(error)
      .findDetails(BadRequestSchema)
      .flatMap((details) => details.fieldViolations.map((violation) => violation.reason));
    return {
      code: ConnectError.from(error).code,
      fields: fieldViolations(error).map((violation, i) => ({ ...violation, reason: reasons[i] })),
    };
  };
  const applied = async (
    who: keyof typeof people,
    type: string,
    name: string,
    spec: TopicSpecInput | UserSpecInput,
  ) => {
    const { change } = await as(who).apply(type, name, spec);
    expect(change?.status).not.toBe(ChangeStatus.PENDING_REVIEW);
    expect((await as(who).waitForChange(change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
  };
  const approvedByPayments = async (changeId: string) => {
    await as("paula").changes.approveChange({ id: changeId, comment: "analytics may read payments' topics" });
    expect((await as("andy").waitForChange(changeId)).status).toBe(ChangeStatus.SUCCEEDED);
  };

  it("refuses orders' payroll under analytics' pay* grant, naming the grant; payments' own names still go through", async () => {
    // payments owns pay.ledger and approved analytics' read of pay*.
    await applied("requester", "kafka.topic", "pay.ledger", topic("payments"));
    const asked = await as("andy").apply("kafka.user", "analytics-reader", reader(["pay"]));
    expect(asked.change?.accessRequests.map((request) => request.ownerTeam)).toEqual(["payments"]);
    await approvedByPayments(asked.change!.id);

    // orders names its topic payroll: analytics would read it, and orders was never asked.
    const refused = await failure(as("otto").apply("kafka.topic", "payroll", topic("orders")));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.fields).toEqual([expect.objectContaining({ field: "name", reason: "UNDER_FOREIGN_GRANT" })]);
    const said = refused.fields[0]!.description;
    expect(said).toContain('kafka.topic "payroll" of team orders would fall under a grant orders never approved');
    expect(said).toContain(
      'kafka.user "analytics-reader" of team analytics may read topics pay* (access.0.topics), approved by payments',
    );
    expect(said).toContain("choose a name outside that grant");
    expect(said).toContain("plinth grants revoke kafka.user analytics-reader access.0.topics");
    // Nothing was recorded, and the cluster has no such topic.
    expect(await failure(as("otto").get("kafka.topic", "payroll"))).toMatchObject({ code: Code.NotFound });
    expect((await listClusterTopics(settings, "local")).map((t) => t.name)).not.toContain("payroll");

    // payments' own name under the prefix it granted is its own business: no review, applied.
    await applied("requester", "kafka.topic", "pay.refunds", topic("payments"));
    // Handing a topic under the grant to orders would expose it the same way.
    const handOver = await failure(as("requester").apply("kafka.topic", "pay.refunds", topic("orders")));
    expect(handOver.code).toBe(Code.FailedPrecondition);
    expect(handOver.fields[0]?.description).toContain('Handing kafka.topic "pay.refunds" over to orders');

    // orders keeps its payroll under its own name, and analytics' user cannot read it on the broker.
    await applied("otto", "kafka.topic", "orders.payroll", topic("orders"));
    await produceAs(broker.bootstrapServers, broker.sasl!, "orders.payroll", "salary-1");
    const password = (
      await as("andy").resources.revealSecret({ type: "kafka.user", name: "analytics-reader", key: "password" })
    ).value?.kind.value as string;
    const login = { username: "analytics-reader", password };
    // The grant it was approved works (and the broker's group coordinator is up for the refusal below).
    await produceAs(broker.bootstrapServers, broker.sasl!, "pay.ledger", "ledger-1");
    expect(await consumeAs(broker.bootstrapServers, login, "pay.ledger", "analytics-reader.ledger", "ledger-1")).toBe(
      "ledger-1",
    );
    expect(
      await refusal(
        consumeAs(broker.bootstrapServers, login, "orders.payroll", "analytics-reader.payroll", "salary-1", 60_000, 0),
      ),
    ).toMatch(/AUTHORIZATION_FAILED/);

    // An admin may still create it for orders: reviewed, and the override is audited.
    const overridden = await as("admin").resources.applyResource({
      type: "kafka.topic",
      name: "payroll",
      spec: topic("orders"),
      requestId: "payroll-override",
      overrideGuardrails: true,
    });
    expect(overridden.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(overridden.change?.reviewReasons.join(" ")).toContain(
      'admin override of guardrails: name: kafka.topic "payroll" of team orders would fall under a grant',
    );
    expect(auditRows(service.dataDir, "kafka.topic/payroll")).toEqual([
      { principal: "ada", action: "override-guardrails" },
    ]);
    await as("admin").changes.cancelChange({ id: overridden.change!.id, comment: "only showing the override" });
  });

  it("refuses a name under a grant still pending review, so approving it cannot reach a topic created meanwhile", async () => {
    await applied("requester", "kafka.topic", "bill.invoices", topic("payments"));
    // analytics asks for bill* twice: on its existing user, and with a new one. Neither is approved yet.
    const widened = await as("andy").apply("kafka.user", "analytics-reader", reader(["pay", "bill"]));
    expect(widened.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    const audit = await as("andy").apply("kafka.user", "analytics-audit", reader(["bill"]));
    expect(audit.change?.status).toBe(ChangeStatus.PENDING_REVIEW);

    // orders names a topic under bill* meanwhile: refused, naming both requests.
    const refused = await failure(as("otto").apply("kafka.topic", "billing.orders", topic("orders")));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.fields.map((violation) => [violation.field, violation.reason])).toEqual([
      ["name", "UNDER_FOREIGN_GRANT"],
      ["name", "UNDER_FOREIGN_GRANT"],
    ]);
    const said = refused.fields.map((violation) => violation.description).join("\n");
    expect(said).toContain(
      `kafka.user "analytics-reader" of team analytics asks to read topics bill* (access.1.topics) in change ${widened.change!.id}, pending review`,
    );
    expect(said).toContain(
      `kafka.user "analytics-audit" of team analytics asks to read topics bill* (access.0.topics) in change ${audit.change!.id}, pending review`,
    );
    expect(said).toContain("ask analytics to cancel or narrow that request");
    // A grant both applied and in the open change is one thing to fix, reported once.
    const underBoth = await failure(as("otto").apply("kafka.topic", "paystubs", topic("orders")));
    expect(underBoth.fields.map((violation) => violation.description)).toEqual([
      expect.stringContaining("may read topics pay* (access.0.topics), approved by payments"),
    ]);

    // Once payments approves, the grant reaches what payments owns and nothing of orders; orders is still refused.
    await approvedByPayments(widened.change!.id);
    await as("andy").changes.cancelChange({ id: audit.change!.id, comment: "one reader is enough" });
    const after = await failure(as("otto").apply("kafka.topic", "billing.orders", topic("orders")));
    expect(after.fields.map((violation) => violation.description)).toEqual([
      expect.stringContaining("may read topics bill* (access.1.topics), approved by payments"),
    ]);
    const { grants } = await as("otto").resources.listAccessGrants({ requesterTeam: "analytics" });
    expect(grants.map((grant) => [grant.name, grant.ownerTeam, grant.access])).toEqual([
      ["analytics-reader", "payments", "read topics pay*"],
      ["analytics-reader", "payments", "read topics bill*"],
    ]);
  });
});
