import { AclOperations, AclPermissionTypes, Admin, ResourcePatternTypes, ResourceTypes } from "@platformatic/kafka";
import { ChangeStatus, Code, ConnectError, createPlinthClient } from "@plinth/sdk";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaPluginModule, startRealService } from "../../core/test/support/real-service.ts";
import { type TestService, principals } from "../../core/test/support/test-service.ts";
import type { UserSpecInput } from "../src/index.ts";
import { KafkaSettings } from "../src/cluster-settings.ts";
import { createCredentialOutOfBand, produceAs, refusal } from "./support/scram-clients.ts";

// A principal that exists on the broker in any form Plinth did not make is not taken over, and a
// check that cannot answer refuses the create instead of guessing. Real server, engine and SCRAM broker.
describe("kafka.user never takes over a principal Plinth does not own", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  beforeAll(async () => {
    // hookTimeout: a loaded machine starts the broker slowly.
    broker = await startKafka({ scram: true, extraSuperUsers: ["ops-tool"], startTimeoutMs: 300_000 });
    const settings = KafkaSettings.parse({
      clusters: {
        // Its topics are made outside Plinth (below), so grants on their prefix have no owning team.
        local: {
          bootstrapServers: [broker.bootstrapServers],
          brokers: 1,
          sasl: broker.sasl,
          superUsers: ["ops-tool"],
          guardrails: { allowUnownedPrefixGrants: true },
        },
      },
    });
    const admin = new Admin({
      clientId: "takeover-test",
      bootstrapBrokers: [broker.bootstrapServers],
      sasl: broker.sasl,
    });
    try {
      await admin.createTopics({ topics: ["orders.placed"], partitions: 1, replicas: 1 });
      // A principal with ACLs but no credential yet (e.g. made ready for another authentication mechanism).
      await admin.createAcls({
        creations: [
          {
            resourceType: ResourceTypes.TOPIC,
            resourceName: "orders.",
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            principal: "User:acl-only",
            host: "*",
            operation: AclOperations.READ,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      });
    } finally {
      await admin.close();
    }
    await createCredentialOutOfBand(broker.bootstrapServers, broker.sasl!, {
      username: "legacy-app",
      password: "legacy-secret",
    });
    service = await startRealService(broker.bootstrapServers, {
      config: { plugins: [{ module: kafkaPluginModule, export: "kafkaUser", settings }] },
    });
    // The cluster view loads the Kafka client and connects once: the checks below then measure the
    // broker, not a cold start of the client library on a loaded machine.
    const { items } = await alice().plugins.listInventory({ type: "kafka.user", scope: "local" });
    expect(items.map((item) => item.name)).toContain("legacy-app");
  }, 400_000);
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });

  const alice = () => createPlinthClient({ baseUrl: service.url, token: principals.requester.token, retry: false });
  const user = (): UserSpecInput => ({
    cluster: "local",
    owner: { team: "payments", contact: "#payments" },
    access: [{ topics: { prefix: "orders." }, operations: "read" }],
  });
  const applyError = (name: string, requestId?: string) =>
    alice()
      .apply("kafka.user", name, user(), { requestId: requestId ?? `create-${name}` })
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );

  it("refuses a user whose SCRAM credential, ACLs or super-user place already exist, and records nothing", async () => {
    const credential = await applyError("legacy-app");
    expect(credential).toMatchObject({ code: Code.AlreadyExists });
    expect(credential?.rawMessage).toContain("SCRAM credentials");
    expect(credential?.rawMessage).toContain("remove it from the cluster first");
    // Its own password still logs in (the broker refuses the topic, not the login): nothing replaced it.
    expect(
      await refusal(
        produceAs(broker.bootstrapServers, { username: "legacy-app", password: "legacy-secret" }, "orders.placed", "x"),
      ),
    ).toContain("TOPIC_AUTHORIZATION_FAILED");

    const acls = await applyError("acl-only");
    expect(acls).toMatchObject({ code: Code.AlreadyExists });
    expect(acls?.rawMessage).toContain("1 ACL(s)");

    const superUser = await applyError("ops-tool");
    expect(superUser).toMatchObject({ code: Code.AlreadyExists });
    expect(superUser?.rawMessage).toContain("super.users");

    const { resources } = await alice().resources.listResources({ type: "kafka.user" });
    expect(resources).toEqual([]);
  });

  it("refuses the create with UNAVAILABLE while the broker hangs, then creates it once the broker answers", async () => {
    // Two checks back to back keep the broker frozen past the Kafka client's own 10 s connect timeout,
    // after which its SASL handshake fails with nobody listening: that used to throw an uncaught
    // exception and take the server down (vitest fails the run on one).
    broker.freeze();
    const frozen = await Promise.resolve()
      .then(async () => [await applyError("fresh-app", "fresh-app-1"), await applyError("fresh-app", "fresh-app-1")])
      .finally(() => broker.thaw());
    for (const refused of frozen) {
      expect(refused).toMatchObject({ code: Code.Unavailable });
      expect(refused?.rawMessage).toContain("nothing was recorded");
    }
    expect((await alice().resources.listResources({ type: "kafka.user" })).resources).toEqual([]);

    // The same request again, as a client retrying UNAVAILABLE does: now it goes through.
    const client = alice();
    const created = await client.apply("kafka.user", "fresh-app", user(), { requestId: "fresh-app-1" });
    expect((await client.waitForChange(created.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
  });

  it("does not overwrite a credential made by hand between the review and the apply", async () => {
    // A write grant waits for a reviewer: the way is clear when it is submitted...
    const client = alice();
    const submitted = await client.apply(
      "kafka.user",
      "racy-app",
      { ...user(), access: [{ topics: { prefix: "orders." }, operations: "write" }] },
      { requestId: "racy-app-1" },
    );
    expect(submitted.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    // ...then someone makes the same user by hand, and only then is the change approved.
    const theirs = { username: "racy-app", password: "made-by-hand" };
    await createCredentialOutOfBand(broker.bootstrapServers, broker.sasl!, theirs);
    await createPlinthClient({ baseUrl: service.url, token: principals.reviewer.token }).changes.approveChange({
      id: submitted.change!.id,
      comment: "the orders writer",
    });
    const failed = await waitFor(
      async () => {
        const { change } = await client.changes.getChange({ id: submitted.change!.id });
        if (!change?.lastError.includes("refusing to overwrite")) throw new Error(`not refused yet: ${change?.status}`);
        return change;
      },
      { what: "the apply refusing the hand-made credential", timeoutMs: 300_000 },
    );
    // Failed at once: no retry can fix it, and each would only delay the answer.
    expect(failed).toMatchObject({ status: ChangeStatus.FAILED, attempts: 1 });
    // The hand-made password still logs in (the broker refuses the topic, not the login).
    expect(await refusal(produceAs(broker.bootstrapServers, theirs, "orders.placed", "x"))).toContain(
      "TOPIC_AUTHORIZATION_FAILED",
    );
  });
});
