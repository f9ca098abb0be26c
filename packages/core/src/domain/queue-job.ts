import type { ChangeRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";

/** Puts a change's job in the queue, unclaimed and due now: its preview for reviewers, or its apply. */
export async function queueJob(tx: StoreTx, change: ChangeRecord, phase: "preview" | "apply"): Promise<void> {
  await tx.upsertJob({
    changeId: change.id,
    type: change.type,
    name: change.name,
    seq: change.seq,
    runAfter: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    phase,
  });
}
