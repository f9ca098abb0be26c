import { waitFor } from "@plinth/testing";
import { describe, expect, it } from "vitest";
import type { ChangeRecord, JobRecord, ResourceRecord } from "../../src/store/records.ts";
import type { Store } from "../../src/store/store.ts";

/** When every record in the store tests was made. */
export const storeTestTime = "2026-01-01T00:00:00.000Z";

/** A resource record of type t.x named "a", with `over` on top: for store tests. */
export const resourceRecord = (over: Partial<ResourceRecord> = {}): ResourceRecord => ({
  type: "t.x",
  name: "a",
  identity: "a",
  ownerTeam: "team",
  status: "PROVISIONING",
  revision: 0,
  spec: null,
  resolvedSpec: null,
  outputs: {},
  secretOutputs: null,
  secretOutputKeys: [],
  labels: {},
  createdAt: storeTestTime,
  updatedAt: storeTestTime,
  drift: null,
  ...over,
});

/** A queued CREATE of a t.x resource named "a" with a random id, with `over` on top: for store tests. */
export const changeRecord = (over: Partial<ChangeRecord> = {}): Omit<ChangeRecord, "seq"> => ({
  id: `c-${Math.random().toString(36).slice(2)}`,
  type: "t.x",
  name: "a",
  kind: "CREATE",
  status: "QUEUED",
  requestedBy: "p",
  team: "team",
  spec: { size: 1 },
  resolvedSpec: { size: 1 },
  explanations: {},
  baseRevision: 0,
  requiredApprovals: 0,
  reviewReasons: [],
  reviews: [],
  attempts: 0,
  lastError: null,
  comment: "",
  labels: {},
  createdAt: storeTestTime,
  updatedAt: storeTestTime,
  finishedAt: null,
  resultRevision: null,
  preview: null,
  ...over,
});

/**
 * The behaviour every Store implementation must have: the SQLite and the
 * PostgreSQL store both run this suite.
 */
export function describeStoreContract(
  name: string,
  open: () => Promise<{ store: Store; reopen: () => Promise<Store>; cleanup: () => void }>,
) {
  const now = storeTestTime;
  const resource = resourceRecord;
  const change = changeRecord;
  /** A job for `c`, due now and never claimed. */
  const job = (c: ChangeRecord): JobRecord => ({
    changeId: c.id,
    type: c.type,
    name: c.name,
    seq: c.seq,
    runAfter: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    phase: "apply",
    claimToken: null,
    claims: 0,
  });

  describe(`Store contract: ${name}`, () => {
    it("commits a transaction before it resolves, and keeps it across a reopen", async () => {
      const { store, reopen, cleanup } = await open();
      try {
        const inserted = await store.transact(async (tx) => {
          await tx.upsertResource(resource());
          return await tx.insertChange(change());
        });
        expect(await store.getChange(inserted.id)).toMatchObject({ id: inserted.id, seq: inserted.seq });
        await store.close();
        const again = await reopen();
        expect(await again.getResource("t.x", "a")).toMatchObject({ name: "a" });
        await again.close();
      } finally {
        cleanup();
      }
    });

    it("rolls back only the failing one of transactions that share a commit", async () => {
      const { store, cleanup } = await open();
      try {
        const results = await Promise.allSettled([
          store.transact(async (tx) => tx.upsertResource(resource({ name: "ok-1", identity: "ok-1" }))),
          store.transact(async (tx) => {
            await tx.upsertResource(resource({ name: "bad", identity: "bad" }));
            throw new Error("boom");
          }),
          store.transact(async (tx) => tx.upsertResource(resource({ name: "ok-2", identity: "ok-2" }))),
        ]);
        expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect(await store.getResource("t.x", "ok-1")).toBeDefined();
        expect(await store.getResource("t.x", "bad")).toBeUndefined();
        expect(await store.getResource("t.x", "ok-2")).toBeDefined();
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("keeps identities unique among live resources of a type", async () => {
      const { store, cleanup } = await open();
      try {
        await store.transact((tx) => tx.upsertResource(resource({ name: "one", identity: "same" })));
        await expect(
          store.transact((tx) => tx.upsertResource(resource({ name: "two", identity: "same" }))),
        ).rejects.toThrow();
        await store.transact((tx) => tx.upsertResource(resource({ name: "one", identity: "same", status: "DELETED" })));
        await store.transact((tx) => tx.upsertResource(resource({ name: "two", identity: "same" })));
        expect((await store.findResourceByIdentity("t.x", "same"))?.name).toBe("two");
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("hands a job to one worker at a time, in order per resource, and again after its lease expires", async () => {
      const { store, cleanup } = await open();
      try {
        const [first, second] = await store.transact(async (tx) => {
          const a = await tx.insertChange(change({ name: "r" }));
          const b = await tx.insertChange(change({ name: "r" }));
          for (const c of [a, b]) await tx.upsertJob(job(c));
          return [a, b];
        });
        const claimA = await store.transact((tx) => tx.claimJob("w1", 60_000));
        expect(claimA).toMatchObject({ changeId: first!.id, leaseOwner: "w1" });
        // The second change waits: the first is still open on the same resource.
        expect(await store.transact((tx) => tx.claimJob("w2", 60_000))).toBeUndefined();
        // w1 lets its lease run out (a lease of 1 ms): another worker takes the first job over.
        expect(await store.transact((tx) => tx.renewLease(first!.id, claimA!.claimToken!, 1))).toBe(true);
        const claimB = await waitFor(
          async () => {
            const claimed = await store.transact((tx) => tx.claimJob("w2", 60_000));
            if (!claimed) throw new Error("nothing to claim yet");
            return claimed;
          },
          { what: "a claim after the lease expired", timeoutMs: 30_000 },
        );
        expect(claimB).toMatchObject({ changeId: first!.id, leaseOwner: "w2" });
        expect(claimB.claimToken).not.toBe(claimA!.claimToken);
        // w1's claim no longer holds: renewing it writes nothing.
        expect(await store.transact((tx) => tx.renewLease(first!.id, claimA!.claimToken!, 60_000))).toBe(false);
        expect(await store.transact((tx) => tx.getJob(first!.id))).toMatchObject({
          leaseOwner: "w2",
          claimToken: claimB.claimToken,
        });
        expect(await store.transact((tx) => tx.renewLease(first!.id, claimB.claimToken!, 60_000))).toBe(true);
        await store.transact(async (tx) => {
          await tx.updateChange({ ...first!, status: "SUCCEEDED" });
          await tx.deleteJob(first!.id);
        });
        expect((await store.transact((tx) => tx.claimJob("w2", 60_000)))?.changeId).toBe(second!.id);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("gives each claim of a change a new token, even after the job row is replaced", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const c = await tx.insertChange(change({ name: "tokens" }));
          await tx.upsertJob(job(c));
          return c;
        });
        const tokens: number[] = [];
        for (let round = 0; round < 3; round++) {
          const claimed = await store.transact((tx) => tx.claimJob("w", 60_000));
          expect(claimed?.changeId).toBe(made.id);
          tokens.push(claimed!.claimToken!);
          // Released for a retry, the way a fresh job is written: the row is replaced, its claim count is not.
          await store.transact((tx) => tx.upsertJob(job(made)));
        }
        expect(new Set(tokens).size).toBe(3);
        expect((await store.transact((tx) => tx.getJob(made.id)))?.claims).toBe(3);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("does not run a job before its retry time", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const c = await tx.insertChange(change({ name: "later" }));
          await tx.upsertJob({ ...job(c), runAfter: Date.now() + 3_600_000 });
          return c;
        });
        expect(await store.transact((tx) => tx.claimJob("w", 100))).toBeUndefined();
        await store.transact((tx) => tx.upsertJob(job(made)));
        expect(await store.transact((tx) => tx.claimJob("w", 100))).toBeDefined();
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("gives one change for concurrent replays of one request", async () => {
      const { store, cleanup } = await open();
      // What a submission does with an idempotency key: the first to commit wins, the rest see its change.
      const submit = () =>
        store.transact(async (tx) => {
          const seen = await tx.getIdempotencyKey("p", "request-1");
          if (seen) return seen.changeId;
          const made = await tx.insertChange(change({ name: "replayed" }));
          await tx.insertIdempotencyKey({
            principal: "p",
            requestId: "request-1",
            requestHash: "h",
            changeId: made.id,
            createdAt: now,
          });
          return made.id;
        });
      try {
        const ids = await Promise.all(Array.from({ length: 20 }, submit));
        expect(new Set(ids).size).toBe(1);
        expect((await store.listChanges({ name: "replayed" }, 50, "")).items.map((c) => c.id)).toEqual([ids[0]]);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("hands each job to exactly one of many workers claiming at once", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const ids: string[] = [];
          for (let i = 0; i < 8; i++) {
            const c = await tx.insertChange(change({ name: `parallel-${i}` }));
            await tx.upsertJob(job(c));
            ids.push(c.id);
          }
          return ids;
        });
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.transact((tx) => tx.claimJob(`w${i}`, 60_000))),
        );
        const claimed = claims.flatMap((claim) => (claim ? [claim.changeId] : []));
        expect([...claimed].sort()).toEqual([...made].sort());
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("numbers changes and their events in order when transactions sharing a commit fail part-way", async () => {
      const { store, cleanup } = await open();
      const event = (changeId: string, message: string) => ({
        changeId,
        time: now,
        status: null,
        kind: "engine" as const,
        message,
        details: null,
      });
      const submit = (name: string, fail: boolean) =>
        store.transact(async (tx) => {
          const made = await tx.insertChange(change({ name }));
          const events = [await tx.appendEvent(event(made.id, "a")), await tx.appendEvent(event(made.id, "b"))];
          if (fail) throw new Error("boom");
          return { seq: made.seq, id: made.id, sequences: events.map((e) => e.sequence) };
        });
      try {
        const settled = await Promise.allSettled(["a", "b", "c", "d", "e"].map((n, i) => submit(n, i % 2 === 1)));
        const kept = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        expect(kept).toHaveLength(3);
        for (const made of kept) expect(made.sequences).toEqual([1, 2]);
        // Transactions running at once may commit in any order (on PostgreSQL they do): each seq is unique
        // and the list is in seq order, and a later submission gets a higher seq.
        const seqs = kept.map((made) => made.seq).sort((x, y) => x - y);
        expect(new Set(seqs).size).toBe(3);
        const listed = await store.listChanges({}, 10, "");
        expect(listed.items.map((c) => c.seq)).toEqual(seqs);
        const later = await store.transact((tx) => tx.appendEvent(event(kept[0]!.id, "c")));
        expect(later.sequence).toBe(3);
        const next = await submit("f", false);
        expect(next.seq).toBeGreaterThan(seqs.at(-1)!);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("pages through changes in submission order and numbers events per change", async () => {
      const { store, cleanup } = await open();
      try {
        const ids = await store.transact(async (tx) => {
          const made = [];
          for (let i = 0; i < 5; i++) made.push((await tx.insertChange(change({ name: `n${i}` }))).id);
          return made;
        });
        const first = await store.listChanges({}, 3, "");
        const rest = await store.listChanges({}, 3, first.nextPageToken);
        expect([...first.items, ...rest.items].map((c) => c.id)).toEqual(ids);
        expect(rest.nextPageToken).toBe("");
        const events = await store.transact(async (tx) => [
          await tx.appendEvent({
            changeId: ids[0]!,
            time: now,
            status: null,
            kind: "engine",
            message: "a",
            details: null,
          }),
          await tx.appendEvent({
            changeId: ids[0]!,
            time: now,
            status: null,
            kind: "engine",
            message: "b",
            details: { x: 1 },
          }),
        ]);
        expect(events.map((e) => e.sequence)).toEqual([1, 2]);
        expect((await store.listEvents(ids[0]!, 1)).map((e) => e.message)).toEqual(["b"]);
      } finally {
        await store.close();
        cleanup();
      }
    });
  });
}
