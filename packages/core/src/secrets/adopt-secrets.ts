import type { LoadedConfig } from "../config/service-config.ts";
import { sameJson } from "../domain/spec-diff.ts";
import type { Logger } from "../observability/logger.ts";
import { loadPlugins } from "../plugin/load-plugins.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import { lockDataDir } from "../server/data-dir-lock.ts";
import { openStore } from "../store/open-store.ts";
import { openPostgresStore } from "../store/postgres/postgres-store.ts";
import type { ResourceRecord } from "../store/records.ts";
import { createSqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Store } from "../store/store.ts";
import { secretMismatches } from "../worker/secret-mismatch.ts";
import { type SecretBox, createSecretBox } from "./secret-box.ts";

/** What `adoptSecrets` did for one resource whose secrets the real system refuses. */
export interface AdoptionOutcome {
  type: string;
  name: string;
  adopted: boolean;
  /** In words, never a secret. */
  why: string;
}

/**
 * `plinth-server adopt-secrets --from <store>`: after a restore from before
 * a rotation, the real system (a Kafka SCRAM credential, a database role)
 * holds a newer password than the restored store. For each resource whose
 * plugin checks its secrets (`observeInBulk.checkSecrets`) and whose stored
 * secrets the real system refuses, this looks up the same resource in
 * another Plinth store (the database the restore replaced, or a later dump
 * restored beside it), opens its sealed secrets with `secrets.key` (or a
 * previous key), and adopts them when the real system accepts them: sealed
 * into this store in place of the refused ones, audited. Nothing is printed
 * or logged but names and reasons, nothing on the real system changes, and
 * the clients using the live password keep working. The next apply of the
 * resource (a reconcile) brings Pulumi's state along: the program receives
 * the store's secrets, and the plugin keeps the one the system accepts.
 * Reads the source only. Running it twice is harmless.
 */
export async function adoptSecrets(loaded: LoadedConfig, from: string, logger: Logger): Promise<AdoptionOutcome[]> {
  const { secrets: keys, store: storeConfig } = loaded.config;
  const lock = storeConfig.postgres ? undefined : lockDataDir(loaded.dataDir);
  try {
    const plugins = (await loadPlugins(loaded.config.plugins, loaded.baseDir, logger)).filter(
      (plugin) => plugin.definition.observeInBulk?.checkSecrets,
    );
    const box = createSecretBox(keys.key, keys.previousKeys);
    const { store } = await openStore(loaded, logger);
    try {
      const source = await openSource(from);
      try {
        const outcomes: AdoptionOutcome[] = [];
        for (const plugin of plugins) {
          for await (const resource of resourcesOf(store, plugin.definition.type)) {
            const outcome = await adoptOne(store, source, box, plugin, resource);
            if (outcome) outcomes.push(outcome);
          }
        }
        return outcomes;
      } finally {
        await source.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
}

/** The store to take secrets from: a PostgreSQL URL, or the path of a SQLite store's `plinth.db`. */
async function openSource(from: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(from)) return await openPostgresStore({ connection: { url: from }, poolSize: 2 });
  return createSqliteStore({ path: from });
}

async function* resourcesOf(store: Store, type: string): AsyncGenerator<ResourceRecord> {
  let pageToken = "";
  do {
    const page = await store.listResources({ type }, 200, pageToken);
    yield* page.items;
    pageToken = page.nextPageToken;
  } while (pageToken);
}

async function adoptOne(
  store: Store,
  source: Store,
  box: SecretBox,
  plugin: LoadedPlugin,
  resource: ResourceRecord,
): Promise<AdoptionOutcome | undefined> {
  if (resource.status === "DELETED" || !resource.secretOutputs) return undefined;
  const { type, name } = resource;
  const refused = await secretMismatches(plugin, resource, box);
  if (refused.length === 0) return undefined;
  const outcome = (adopted: boolean, why: string): AdoptionOutcome => ({ type, name, adopted, why });
  const candidate = await source.getResource(type, name);
  if (!candidate?.secretOutputs) return outcome(false, "the source store holds no secret for it");
  let opened;
  try {
    opened = box.open(candidate.secretOutputs);
  } catch {
    return outcome(false, "the source store's secret does not open with secrets.key or secrets.previousKeys");
  }
  if (sameJson(opened, box.open(resource.secretOutputs))) {
    return outcome(false, "the source store holds the same secret, which is refused too");
  }
  const stillRefused = await secretMismatches(plugin, { ...candidate, resolvedSpec: resource.resolvedSpec }, box);
  if (stillRefused.length > 0) return outcome(false, `the source store's secret is refused too: ${stillRefused[0]}`);
  const adopted = await store.transact(async (tx) => {
    const current = await tx.getResource(type, name);
    // Changed since it was checked (an apply, a rotation): that change holds the word now.
    if (current?.secretOutputs !== resource.secretOutputs) return false;
    await tx.upsertResource({ ...current, secretOutputs: box.seal(opened) });
    await tx.appendAudit({
      time: new Date().toISOString(),
      principal: "plinth-server adopt-secrets",
      action: "adopt-secret",
      target: `${type}/${name}`,
      details: { keys: Object.keys(opened), refused: refused.join("; ") },
    });
    return true;
  });
  if (!adopted) return outcome(false, "it changed while it was checked; run adopt-secrets again");
  return outcome(
    true,
    `the real system accepts the secret the source store holds: adopted; reconcile it (plinth reconcile ${type} ${name}) to bring Pulumi's state along`,
  );
}
