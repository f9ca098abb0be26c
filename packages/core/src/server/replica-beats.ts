import type { Logger } from "../observability/logger.ts";
import type { ReplicaIdentity } from "../store/records.ts";
import type { Store } from "../store/store.ts";

export interface ReplicaBeats {
  /** Resolves once the first beat is committed: before it, this replica must claim nothing. */
  first: Promise<void>;
  stop(): void;
}

/**
 * Beats into the store for this server process every `everyMs`, on the lease
 * lane (connections of its own, so that requests waiting for locks never hold
 * a beat up). Other replicas read the beats to tell whether a stack lock this
 * replica's engine took may still be live (clear-stack-lock.ts), so `everyMs`
 * must be at most the engine's `parentSilenceMs`. A failed beat is logged and
 * the next one tries again. A replica judged dead because its beats failed
 * while it ran has stopped its engine work already: its lease renewals take
 * the same lane, failed too, and the worker gave its changes up.
 */
export function startReplicaBeats(
  store: Store,
  identity: ReplicaIdentity,
  everyMs: number,
  logger: Logger,
): ReplicaBeats {
  const beat = () => store.transact((tx) => tx.beatReplica(identity), { lane: "lease" });
  const timer = setInterval(() => {
    beat().catch((error: unknown) => logger.warn({ err: error }, "could not record this replica's beat in the store"));
  }, everyMs);
  timer.unref();
  return { first: beat(), stop: () => clearInterval(timer) };
}
