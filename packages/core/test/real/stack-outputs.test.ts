import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import Database from "better-sqlite3";
import { type KafkaBroker, pulumiBinDir, pulumiEnv, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { startRealService, topicPartitions } from "../support/real-service.ts";
import type { TestService } from "../support/test-service.ts";

const fixture = join(import.meta.dirname, "../engine/fixtures/test-topic-plugin.ts");

// The engine reads a stack's outputs from the engine's own event instead of
// asking the CLI; what Plinth records must still be exactly the stack's
// outputs, and every secret among them must stay sealed. Real server, engine,
// Pulumi CLI, Kafka provider and broker.
describe("stack outputs recorded by the real engine", { timeout: 400_000 }, () => {
  let broker: KafkaBroker;
  let service: TestService;
  beforeAll(async () => {
    broker = await startKafka();
    service = await startRealService(broker.bootstrapServers, {
      config: {
        plugins: [
          { module: fixture, export: "outputsTopicPlugin", settings: { bootstrapServers: broker.bootstrapServers } },
        ],
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    await broker?.stop();
  });

  /** The stack's outputs as the Pulumi CLI itself shows them, plain or with secrets shown. */
  const stackOutput = (name: string, showSecrets: boolean): Record<string, unknown> => {
    const stack = `test.outputs--${name}`;
    const stdout = execFileSync(
      join(pulumiBinDir(), "pulumi"),
      ["stack", "output", "--json", "--non-interactive", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])],
      {
        cwd: join(service.dataDir, "pulumi-work", stack),
        env: {
          ...process.env,
          ...pulumiEnv(),
          PULUMI_BACKEND_URL: `file://${join(service.dataDir, "pulumi")}`,
          PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
        },
      },
    );
    return JSON.parse(stdout.toString()) as Record<string, unknown>;
  };

  const apply = async (name: string, spec: { partitions: number; secrets: boolean }, requestId: string) => {
    const alice = service.as("requester");
    const submitted = await alice.resources.applyResource({ type: "test.outputs", name, spec, requestId });
    const { change } = await watchToEnd(alice, submitted.change!.id);
    expect(change.status, change.lastError).toBe(ChangeStatus.SUCCEEDED);
    const { resource } = await alice.resources.getResource({ type: "test.outputs", name });
    return resource!;
  };

  it("plain outputs equal the stack's, created and then updated in place", async () => {
    const created = await apply("plain.one", { partitions: 1, secrets: false }, "p1");
    expect(created.outputs).toEqual(stackOutput("plain.one", false));
    expect(created.outputs).toEqual({
      topicName: "plain.one",
      partitions: 1,
      labels: { sizes: [1, 2], team: "t" },
      none: null,
    });
    expect(created.secretOutputKeys).toEqual([]);

    // The stack exists now: the update runs on it as it is.
    const grown = await apply("plain.one", { partitions: 2, secrets: false }, "p2");
    expect(await topicPartitions(broker.bootstrapServers, "plain.one")).toBe(2);
    expect(grown.outputs).toEqual(stackOutput("plain.one", false));
    expect(grown.outputs?.partitions).toBe(2);
  });

  it("secret outputs, listed, marked by Pulumi or nested, are sealed apart and reveal the stack's values", async () => {
    const resource = await apply("sealed.one", { partitions: 1, secrets: true }, "s1");
    const shown = stackOutput("sealed.one", true);
    const secretKeys = ["listed", "marked", "nested"];
    expect([...resource.secretOutputKeys].sort()).toEqual(secretKeys);
    expect(resource.outputs).toEqual(
      Object.fromEntries(Object.entries(shown).filter(([key]) => !secretKeys.includes(key))),
    );
    for (const key of secretKeys) {
      const { value } = await service
        .as("requester")
        .resources.revealSecret({ type: "test.outputs", name: "sealed.one", key });
      expect(toJson(ValueSchema, value!)).toEqual(shown[key]);
    }
    expect(shown.nested).toEqual({ shown: "visible", hidden: "hidden-sealed.one" });

    // Sealed at rest: no secret value, not even the nested one, is in the database in the clear.
    const db = new Database(join(service.dataDir, "plinth.db"), { readonly: true });
    try {
      const dump = ["resources", "revisions", "changes", "change_events"]
        .map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all()))
        .join("");
      for (const secret of ["listed-sealed.one", "marked-sealed.one", "hidden-sealed.one"]) {
        expect(dump).not.toContain(secret);
      }
    } finally {
      db.close();
    }
  });
});
