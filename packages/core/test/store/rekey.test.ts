import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type PostgresServer, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/index.ts";
import { createSecretBox } from "../../src/secrets/secret-box.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
import { freshDatabase } from "../support/fresh-database.ts";
import { runRunbook } from "../support/runbook.ts";
import { startTestService, testConfig } from "../support/test-service.ts";

const oldKey = "old-secret-key-0123456789";
const newKey = "new-secret-key-9876543210";

/** docs/security.md's `rekey` command as an operator runs it, with `config`; resolves with its output. */
async function rekey(dataDir: string, config: Record<string, unknown>): Promise<string> {
  const file = join(dataDir, "..", `rekey-${Date.now()}.json`);
  // JSON is YAML: the server's config loader reads it as it is.
  writeFileSync(file, JSON.stringify(testConfig(dataDir, config)));
  return await runRunbook("rekey", {
    cwd: join(dataDir, ".."),
    env: { PLINTH_CONFIG: file, PLINTH_LOG_LEVEL: "warn" },
  });
}

let postgres: PostgresServer | undefined;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

describe.each([
  { store: "SQLite", config: (): Record<string, unknown> => ({}), fresh: async () => ({}) },
  {
    store: "PostgreSQL",
    config: (): Record<string, unknown> => ({ store: { postgres: { url: postgres!.connectionString } } }),
    fresh: async (): Promise<Record<string, unknown>> => ({
      store: { postgres: { url: await freshDatabase(postgres!, "wrong_key") } },
    }),
  },
])("secret key rotation on $store", ({ config, fresh }) => {
  it("re-encrypts every stored secret, after which the new key alone opens them", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "plinth-rekey-")), "data");
    const before = await startTestService({
      dataDir,
      // The subscription's URL is on loopback (never called here), which webhooks reach only when allowed.
      config: { ...config(), secrets: { key: oldKey }, notifications: { allowedTargets: ["127.0.0.1"] } },
    });
    const alice = before.as("requester");
    const { change } = await alice.resources.applyResource({ type: "test.widget", name: "vault", spec: { size: 1 } });
    expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    const serial = await alice.resources.revealSecret({ type: "test.widget", name: "vault", key: "serial" });
    const { subscription } = await alice.notifications.createSubscription({
      url: "http://127.0.0.1:9/hooks",
      secret: "webhook-signing-secret-0123",
    });
    await before.close();

    // The rotation: the new key, the old one still listed for reading, then rekey.
    const output = await rekey(dataDir, { ...config(), secrets: { key: newKey, previousKeys: [oldKey] } });
    expect(output).toContain("resealed 1 resources' secret outputs and 1 subscriptions' secrets");

    // The old key is gone from the config: everything still opens.
    const after = await startTestService({ dataDir, config: { ...config(), secrets: { key: newKey } } });
    try {
      const revealed = await after.as("requester").resources.revealSecret({
        type: "test.widget",
        name: "vault",
        key: "serial",
      });
      expect(toJson(ValueSchema, revealed.value!)).toEqual(toJson(ValueSchema, serial.value!));
      const stored = await after.store.getSubscription(subscription!.id);
      expect(createSecretBox(newKey).open(stored!.sealedSecret!)).toEqual({ secret: "webhook-signing-secret-0123" });
      // Sealed anew, not merely readable: the old key opens nothing any more.
      expect(() => createSecretBox(oldKey).open(stored!.sealedSecret!)).toThrow(/does not open/);
      const resource = await after.store.getResource("test.widget", "vault");
      expect(() => createSecretBox(oldKey).open(resource!.secretOutputs!)).toThrow(/does not open/);
    } finally {
      await after.close();
    }
  });

  it("refuses to start with a secrets.key that does not open the stored secrets, naming the fix", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "plinth-wrong-key-")), "data");
    const store = await fresh();
    const before = await startTestService({ dataDir, config: { ...store, secrets: { key: oldKey } } });
    const alice = before.as("requester");
    const { change } = await alice.resources.applyResource({ type: "test.widget", name: "locked", spec: { size: 1 } });
    expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
    await before.close();

    const refused = await startTestService({ dataDir, config: { ...store, secrets: { key: newKey } } }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(
      /^secrets\.key: it does not open the secrets in the store \(those of test\.widget locked, for one\).*previousKeys/,
    );
    // The refused start left nothing locked: the right key starts as before.
    const after = await startTestService({ dataDir, config: { ...store, secrets: { key: oldKey } } });
    await after.close();
  });
});
