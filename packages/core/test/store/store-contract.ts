import { waitFor } from "@plinth/testing";
import { describe, expect, it } from "vitest";
import type {
  ChangeRecord,
  DeliveryRecord,
  ImportRecord,
  JobRecord,
  ResourceRecord,
  SubscriptionRecord,
} from "../../src/store/records.ts";
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

/** A queued CREATE of t.x "a" with a random id, with `over` on top: for store tests. */
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
  accessRequests: [],
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

  /** A due, unclaimed apply job for `c`. */
  const jobFor = (c: ChangeRecord) => ({
    changeId: c.id,
    type: c.type,
    name: c.name,
    seq: c.seq,
    runAfter: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    phase: "apply" as const,
  });

  /** Claims as `owner` once a lease on the store's own clock has run out; only a condition is awaited. */
  const claimWhenFree = (store: Store, owner: string): Promise<JobRecord> =>
    waitFor(
      async () => {
        const job = await store.transact((tx) => tx.claimJob(owner, 60_000));
        if (!job) throw new Error("no job claimable yet");
        return job;
      },
      { what: "a claim after the lease ran out", timeoutMs: 10_000 },
    );

  describe(`Store contract: ${name}`, () => {
    it("keeps the deny list: a denial is seen by a second store on the same data at once, and lifted", async () => {
      const { store, reopen, cleanup } = await open();
      const other = await reopen();
      try {
        const denial = { principal: "mallory", reason: "left", deniedBy: "ada", deniedAt: now };
        await store.transact((tx) => tx.upsertDenial(denial));
        expect(await other.listDenials()).toEqual([denial]);
        await store.transact((tx) => tx.upsertDenial({ ...denial, reason: "left, twice" }));
        expect((await other.listDenials()).map((d) => [d.principal, d.reason])).toEqual([["mallory", "left, twice"]]);
        await other.transact((tx) => tx.deleteDenial("mallory"));
        expect(await store.listDenials()).toEqual([]);
      } finally {
        await other.close();
        await store.close();
        cleanup();
      }
    });

    it("keeps an import and finds it by its request id; a second import with the same request id is refused", async () => {
      const { store, reopen, cleanup } = await open();
      const other = await reopen();
      try {
        const record: ImportRecord = {
          id: "imp-1",
          requestedBy: "alice",
          requestId: "estate-1",
          type: "kafka.topic",
          scope: "main",
          status: "PENDING_REVIEW",
          comment: "move in",
          rules: [{ prefix: "orders.", team: "orders", contact: "#orders" }],
          items: [
            {
              name: "orders.v1",
              identity: "main/orders.v1",
              ownerTeam: "orders",
              spec: { a: 1 },
              resolvedSpec: { a: 1 },
            },
          ],
          skipped: [{ name: "misc", reason: "no owner rule matches" }],
          reviews: [],
          createdAt: now,
          updatedAt: now,
        };
        await store.transact((tx) => tx.insertImport(record));
        expect(await other.getImport("imp-1")).toEqual(record);
        expect(await other.findImportByRequest("alice", "estate-1")).toEqual(record);
        expect(await other.findImportByRequest("bob", "estate-1")).toBeUndefined();
        await expect(store.transact((tx) => tx.insertImport({ ...record, id: "imp-2" }))).rejects.toThrow();
        const review = { reviewer: "rita", team: "orders", decision: "APPROVED" as const, comment: "", createdAt: now };
        // Being recorded in batches: what is pending and what is recorded survive, and a server finds it to finish.
        expect(await other.recordingImports()).toEqual([]);
        const recording: ImportRecord = {
          ...record,
          status: "RECORDING",
          reviews: [review],
          pending: record.items,
          recorded: [{ ...record.items[0]!, name: "orders.v0" }],
        };
        await store.transact((tx) => tx.updateImport(recording));
        expect(await other.getImport("imp-1")).toEqual(recording);
        expect(await other.recordingImports()).toEqual(["imp-1"]);
        const imported = {
          ...record,
          status: "IMPORTED" as const,
          reviews: [review],
          updatedAt: "2026-01-02T00:00:00.000Z",
        };
        await store.transact((tx) => tx.updateImport(imported));
        expect(await other.getImport("imp-1")).toEqual(imported);
        expect(await other.recordingImports()).toEqual([]);
        expect(await store.getImport("imp-2")).toBeUndefined();
      } finally {
        await other.close();
        await store.close();
        cleanup();
      }
    });

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

    it("keeps a change's access requests and its reviewers' teams across updates and a reopen", async () => {
      const { store, reopen, cleanup } = await open();
      try {
        const request = {
          field: "access.0.topics",
          ownerTeam: "orders",
          requesterTeam: "payments",
          access: "read topics orders.*",
        };
        const inserted = await store.transact(async (tx) => {
          await tx.upsertResource(resource());
          return await tx.insertChange(change({ status: "PENDING_REVIEW", accessRequests: [request] }));
        });
        const review = { reviewer: "r", team: "orders", decision: "APPROVED" as const, comment: "", createdAt: now };
        await store.transact((tx) => tx.updateChange({ ...inserted, reviews: [review] }));
        await store.close();
        const again = await reopen();
        expect(await again.getChange(inserted.id)).toMatchObject({ accessRequests: [request], reviews: [review] });
        await again.close();
      } finally {
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
          for (const c of [a, b]) await tx.upsertJob(jobFor(c));
          return [a, b];
        });
        const claimA = await store.transact((tx) => tx.claimJob("w1", 60_000));
        expect(claimA).toMatchObject({ changeId: first!.id, leaseOwner: "w1", claims: 1 });
        expect(claimA?.claimToken).not.toBeNull();
        // The second change waits: the first is still open on the same resource.
        expect(await store.transact((tx) => tx.claimJob("w2", 60_000))).toBeUndefined();
        // The lease runs out (renewed to a few ms): another worker takes the first job over, with a new token.
        expect(await store.transact((tx) => tx.renewLease(first!.id, claimA!.claimToken!, 20))).toBe(true);
        const claimB = await claimWhenFree(store, "w2");
        expect(claimB).toMatchObject({ changeId: first!.id, leaseOwner: "w2", claims: 2 });
        expect(claimB.claimToken).not.toBe(claimA!.claimToken);
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

    it("claims a job behind many that wait on a change in review, oldest first among those that may run", async () => {
      const { store, cleanup } = await open();
      try {
        const free = await store.transact(async (tx) => {
          // More waiting jobs than a claim looks at in one go, all older than the one that may run.
          await tx.insertChange(change({ name: "held", status: "PENDING_REVIEW" }));
          for (let i = 0; i < 12; i++) await tx.upsertJob(jobFor(await tx.insertChange(change({ name: "held" }))));
          const first = await tx.insertChange(change({ name: "free" }));
          const second = await tx.insertChange(change({ name: "free-too" }));
          for (const c of [first, second]) await tx.upsertJob(jobFor(c));
          return first;
        });
        expect((await store.transact((tx) => tx.claimJob("w", 60_000)))?.changeId).toBe(free.id);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("holds a change set member's apply until every member of a lower order succeeded, never its preview", async () => {
      const { store, cleanup } = await open();
      try {
        const [topic, user, preview, other] = await store.transact(async (tx) => {
          const set = { changeSetId: "set-1" };
          const t = await tx.insertChange(
            change({ name: "topic", ...set, changeSetOrder: 0, status: "PENDING_REVIEW" }),
          );
          const u = await tx.insertChange(change({ name: "user", ...set, changeSetOrder: 2 }));
          const p = await tx.insertChange(
            change({ name: "schema", ...set, changeSetOrder: 1, status: "PENDING_REVIEW" }),
          );
          const o = await tx.insertChange(change({ name: "elsewhere", changeSetId: "set-2", changeSetOrder: 2 }));
          await tx.upsertJob(jobFor(u));
          await tx.upsertJob({ ...jobFor(p), phase: "preview" });
          await tx.upsertJob(jobFor(o));
          return [t, u, p, o];
        });
        const claim = async () => (await store.transact((tx) => tx.claimJob("w", 60_000)))?.changeId;
        // The user waits for the topic (in review); the schema's preview and another set's member do not.
        expect(await claim()).toBe(preview!.id);
        expect(await claim()).toBe(other!.id);
        expect(await claim()).toBeUndefined();
        // A failed earlier member holds it too; only success lets it go.
        await store.transact((tx) => tx.updateChange({ ...topic!, status: "FAILED" }));
        expect(await claim()).toBeUndefined();
        await store.transact((tx) => tx.updateChange({ ...topic!, status: "SUCCEEDED" }));
        expect(await claim()).toBeUndefined(); // the schema (order 1) is still in review
        await store.transact((tx) => tx.updateChange({ ...preview!, status: "SUCCEEDED" }));
        expect(await claim()).toBe(user!.id);
        expect((await store.getChange(user!.id))?.changeSetId).toBe("set-1");
        expect((await store.listChangeSetMembers("set-1")).map((c) => c.name)).toEqual(["topic", "schema", "user"]);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("claims the successor after failing an exhausted change in one transaction", async () => {
      const { store, cleanup } = await open();
      try {
        // A change in a crash loop (APPLYING, its lease lapsed) with a later change queued on the same resource.
        const [stuck, successor] = await store.transact(async (tx) => {
          const a = await tx.insertChange(change({ name: "looping", status: "APPLYING", attempts: 3 }));
          const b = await tx.insertChange(change({ name: "looping" }));
          for (const c of [a, b]) await tx.upsertJob(jobFor(c));
          return [a, b];
        });
        // What the worker does with a change that has no attempts left: fail it, drop its job, claim again.
        const claimed = await store.transact(async (tx) => {
          const first = await tx.claimJob("w", 60_000);
          expect(first?.changeId).toBe(stuck!.id);
          await tx.deleteJob(stuck!.id);
          await tx.updateChange({ ...stuck!, status: "FAILED", finishedAt: now });
          return await tx.claimJob("w", 60_000);
        });
        expect(claimed).toMatchObject({ changeId: successor!.id, leaseOwner: "w", claims: 1 });
        expect(await store.getChange(stuck!.id)).toMatchObject({ status: "FAILED" });
        // And the queue goes on: nothing else is left to claim, and the claim holds.
        expect(await store.transact((tx) => tx.claimJob("w2", 60_000))).toBeUndefined();
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("fences claims by token: a lapsed claim cannot renew, even when its own owner claimed the job again", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const c = await tx.insertChange(change({ name: "fenced" }));
          await tx.upsertJob(jobFor(c));
          return c;
        });
        const lapsed = await store.transact((tx) => tx.claimJob("w", 20));
        expect(lapsed?.changeId).toBe(made.id);
        // The same owner claims the job again once its lease lapsed: only the new claim holds it.
        const again = await claimWhenFree(store, "w");
        expect(again.changeId).toBe(made.id);
        expect(again.claimToken).not.toBe(lapsed!.claimToken);
        const before = await store.transact((tx) => tx.getJob(made.id));
        expect(before).toMatchObject({ claimToken: again.claimToken, leaseOwner: "w", claims: 2 });
        expect(await store.transact((tx) => tx.renewLease(made.id, lapsed!.claimToken!, 3_600_000))).toBe(false);
        // Refused means untouched: the lease the stale claim tried to stretch is as the new claim left it.
        expect(await store.transact((tx) => tx.getJob(made.id))).toEqual(before);
        expect(await store.transact((tx) => tx.renewLease(made.id, again.claimToken!, 60_000))).toBe(true);
        expect(await store.transact((tx) => tx.claimJob("w", 60_000))).toBeUndefined();
        await store.transact((tx) => tx.deleteJob(made.id));
        expect(await store.transact((tx) => tx.renewLease(made.id, again.claimToken!, 60_000))).toBe(false);
        expect(await store.transact((tx) => tx.getJob(made.id))).toBeUndefined();
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("counts a change's claims across replaced and re-created jobs, and never gives a token twice", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const c = await tx.insertChange(change({ name: "counted", status: "PENDING_REVIEW" }));
          await tx.upsertJob({ ...jobFor(c), phase: "preview" });
          return c;
        });
        const tokens: (number | null | undefined)[] = [];
        const preview = await store.transact((tx) => tx.claimJob("w", 60_000));
        expect(preview).toMatchObject({ phase: "preview", claims: 1 });
        tokens.push(preview?.claimToken);
        // An approval replaces the running preview job by an apply job: unclaimed, its count kept.
        await store.transact((tx) => tx.upsertJob(jobFor(made)));
        expect(await store.transact((tx) => tx.getJob(made.id))).toMatchObject({
          phase: "apply",
          claimToken: null,
          leaseOwner: null,
          claims: 1,
        });
        const apply = await store.transact((tx) => tx.claimJob("w", 60_000));
        expect(apply).toMatchObject({ phase: "apply", claims: 2 });
        tokens.push(apply?.claimToken);
        // The change fails for good (its job ends), then a retry queues a new job for it.
        await store.transact((tx) => tx.deleteJob(made.id));
        await store.transact((tx) => tx.upsertJob(jobFor(made)));
        const retried = await store.transact((tx) => tx.claimJob("w", 60_000));
        expect(retried).toMatchObject({ changeId: made.id, claims: 3 });
        tokens.push(retried?.claimToken);
        expect(tokens.every((token) => typeof token === "number")).toBe(true);
        expect(new Set(tokens).size).toBe(3);
        expect(await store.transact((tx) => tx.renewLease(made.id, apply!.claimToken!, 60_000))).toBe(false);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("does not run a job before its retry time (wall-clock ms)", async () => {
      const { store, cleanup } = await open();
      try {
        const made = await store.transact(async (tx) => {
          const c = await tx.insertChange(change({ name: "later" }));
          await tx.upsertJob({ ...jobFor(c), runAfter: Date.now() + 3_600_000 });
          return c;
        });
        expect(await store.transact((tx) => tx.claimJob("w", 60_000))).toBeUndefined();
        await store.transact((tx) => tx.upsertJob({ ...jobFor(made), runAfter: Date.now() - 1 }));
        expect((await store.transact((tx) => tx.claimJob("w", 60_000)))?.changeId).toBe(made.id);
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
            await tx.upsertJob(jobFor(c));
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

    it("keeps each replica's beats per host, aged on the store's clock", async () => {
      const { store, cleanup } = await open();
      try {
        const beat = (replica: string, host: string) =>
          store.transact((tx) => tx.beatReplica({ replica, host, pid: 4242 }), { lane: "lease" });
        const beatsOf = (host: string) => store.transact((tx) => tx.replicaBeats(host), { lane: "lease" });
        await beat("one", "host-a");
        await beat("two", "host-a");
        await beat("three", "host-b");
        expect((await beatsOf("host-a")).map((b) => [b.replica, b.host, b.pid])).toEqual([
          ["one", "host-a", 4242],
          ["two", "host-a", 4242],
        ]);
        expect(await beatsOf("host-c")).toEqual([]);
        // Time passes on the store's clock; a new beat makes the replica fresh, and its start stays where it was.
        await waitFor(
          async () => {
            const [one] = await beatsOf("host-a");
            if (!(one!.silentMs >= 50)) throw new Error(`silent for ${one!.silentMs} ms`);
          },
          { what: "the beat ages", timeoutMs: 10_000 },
        );
        await beat("one", "host-a");
        const [one, two] = await beatsOf("host-a");
        expect(one!.silentMs).toBeLessThan(two!.silentMs);
        expect(one!.startedMsAgo).toBeGreaterThanOrEqual(50);
        expect(one!.startedMsAgo).toBeGreaterThan(one!.silentMs);
      } finally {
        await store.close();
        cleanup();
      }
    });

    it("gives each reconcile scope to one claimant per round, atomically and across a reopen", async () => {
      const { store, reopen, cleanup } = await open();
      let current = store;
      try {
        const claim = (s: Store, scope: string, round: number, owner: string) =>
          s.transact((tx) => tx.claimReconcileScope(scope, round, owner, now));
        // Replicas racing for one round: exactly one gets it.
        const racing = await Promise.all(
          Array.from({ length: 6 }, (_, i) => claim(current, "kafka.topic/main", 7, `replica-${i}`)),
        );
        expect(racing.filter(Boolean)).toHaveLength(1);
        expect(await claim(current, "kafka.topic/main", 7, "late")).toBe(false);
        expect(await claim(current, "kafka.topic/other", 7, "late")).toBe(true);
        // A claim rolled back with its transaction was never made.
        await expect(
          current.transact(async (tx) => {
            await tx.claimReconcileScope("kafka.topic/main", 8, "doomed", now);
            throw new Error("rolled back");
          }),
        ).rejects.toThrow("rolled back");
        expect(await claim(current, "kafka.topic/main", 8, "replica-0")).toBe(true);
        // A replica that reaches an older round late does not observe it again.
        expect(await claim(current, "kafka.topic/main", 7, "late")).toBe(false);
        await current.close();
        current = await reopen();
        expect(await claim(current, "kafka.topic/main", 8, "replica-1")).toBe(false);
        expect(await claim(current, "kafka.topic/main", 9, "replica-1")).toBe(true);
      } finally {
        await current.close();
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

    it("lists the changes that finished at or after a time, whatever their status", async () => {
      const { store, cleanup } = await open();
      try {
        const at = (minute: number) => `2026-12-07T10:${String(minute).padStart(2, "0")}:00.000Z`;
        const ids = await store.transact(async (tx) => [
          (await tx.insertChange(change({ name: "early", status: "SUCCEEDED", finishedAt: at(1) }))).id,
          (await tx.insertChange(change({ name: "open", status: "PENDING_REVIEW", finishedAt: null }))).id,
          (await tx.insertChange(change({ name: "exact", status: "FAILED", finishedAt: at(5) }))).id,
          (await tx.insertChange(change({ name: "late", status: "SUCCEEDED", finishedAt: at(9) }))).id,
        ]);
        const names = async (filter: Parameters<typeof store.listChanges>[0]) =>
          (await store.listChanges(filter, 50, "")).items.map((c) => c.name);
        expect(await names({ finishedAfter: at(5) })).toEqual(["exact", "late"]);
        expect(await names({ finishedAfter: at(5), status: "SUCCEEDED" })).toEqual(["late"]);
        expect(await names({ finishedAfter: at(10) })).toEqual([]);
        expect(ids).toHaveLength(4);
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

    it("keeps subscriptions, the outbox and its attempts, and finds what is due", async () => {
      const { store, reopen, cleanup } = await open();
      const subscription = (over: Partial<SubscriptionRecord>): SubscriptionRecord => ({
        id: "s-general",
        ownerTeam: "team",
        createdBy: "p",
        url: "http://127.0.0.1:1/hook",
        format: "cloudevents",
        sealedSecret: "v1.sealed",
        teams: ["team"],
        types: [],
        kinds: ["SUBMITTED", "FAILED"],
        changeId: null,
        createdAt: now,
        ...over,
      });
      const delivery = (over: Partial<DeliveryRecord>): DeliveryRecord => ({
        id: "d-1",
        eventId: "e-1",
        subscriptionId: "s-general",
        changeId: "c-1",
        kind: "SUBMITTED",
        event: { specversion: "1.0", id: "e-1", data: { nested: [1, "two"] } },
        status: "PENDING",
        attempts: 0,
        nextAttemptAt: 1_000,
        expiresAt: 10_000,
        lastError: null,
        lastStatusCode: null,
        createdAt: now,
        deliveredAt: null,
        ...over,
      });
      let reopened: Store | undefined;
      try {
        await store.transact(async (tx) => {
          await tx.insertSubscription(subscription({}));
          await tx.insertSubscription(
            subscription({ id: "s-callback", ownerTeam: "other", changeId: "c-1", kinds: [] }),
          );
          await tx.insertSubscription(subscription({ id: "s-elsewhere", changeId: "c-2", sealedSecret: null }));
          await tx.insertDelivery(delivery({}));
          await tx.insertDelivery(delivery({ id: "d-2", eventId: "e-2", nextAttemptAt: 3_000, changeId: null }));
          await tx.insertDelivery(
            delivery({ id: "d-3", eventId: "e-1", subscriptionId: "s-callback", nextAttemptAt: 500 }),
          );
          await tx.upsertReviewTimer({ changeId: "c-1", kind: "reminder", dueAt: 2_000 });
          await tx.upsertReviewTimer({ changeId: "c-1", kind: "escalation", dueAt: 9_000 });
          await tx.upsertReviewTimer({ changeId: "c-1", kind: "escalation", dueAt: 4_000 });
        });
        expect(await store.getSubscription("s-general")).toEqual(subscription({}));
        expect(await store.getSubscription("missing")).toBeUndefined();
        expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(["s-callback", "s-elsewhere", "s-general"]);
        expect((await store.listSubscriptions("other")).map((s) => s.id)).toEqual(["s-callback"]);
        expect((await store.subscriptionsFor("c-1")).map((s) => s.id).sort()).toEqual(["s-callback", "s-general"]);
        expect((await store.subscriptionsFor(null)).map((s) => s.id)).toEqual(["s-general"]);

        expect((await store.dueDeliveries(999, 10)).map((d) => d.id)).toEqual(["d-3"]);
        expect((await store.dueDeliveries(5_000, 10)).map((d) => d.id)).toEqual(["d-3", "d-1", "d-2"]);
        expect((await store.dueDeliveries(5_000, 1)).map((d) => d.id)).toEqual(["d-3"]);
        // The outbox gauges: three pending; the most overdue (d-3, due at 500) has waited 4,500 ms at 5,000.
        expect(await store.outboxStats(5_000)).toEqual({ pending: 3, oldestDueMs: 4_500 });
        expect(await store.outboxStats(100)).toEqual({ pending: 3, oldestDueMs: 0 });
        expect(await store.getDelivery("d-1")).toEqual(delivery({}));
        expect((await store.listDeliveries({ changeId: "c-1" }, 10)).map((d) => d.id)).toEqual(["d-1", "d-3"]);
        expect((await store.listDeliveries({ subscriptionId: "s-callback" }, 10)).map((d) => d.id)).toEqual(["d-3"]);

        await store.transact(async (tx) => {
          await tx.updateDelivery(
            delivery({ attempts: 1, nextAttemptAt: 7_000, lastError: "HTTP 503", lastStatusCode: 503 }),
          );
          await tx.insertDeliveryAttempt({
            deliveryId: "d-1",
            attempt: 1,
            time: now,
            statusCode: 503,
            error: "HTTP 503",
            durationMs: 12,
          });
          await tx.updateDelivery(
            delivery({
              id: "d-3",
              eventId: "e-1",
              subscriptionId: "s-callback",
              status: "DELIVERED",
              attempts: 1,
              lastStatusCode: 204,
              deliveredAt: now,
            }),
          );
          await tx.insertDeliveryAttempt({
            deliveryId: "d-3",
            attempt: 1,
            time: now,
            statusCode: 204,
            error: null,
            durationMs: 3,
          });
          await tx.deleteSubscription("s-elsewhere");
          await tx.deleteReviewTimer("c-1", "reminder");
        });
        // Delivered ones and those not due yet are not handed out again.
        expect((await store.dueDeliveries(5_000, 10)).map((d) => d.id)).toEqual(["d-2"]);
        expect(await store.getDelivery("d-1")).toMatchObject({
          attempts: 1,
          nextAttemptAt: 7_000,
          lastStatusCode: 503,
        });
        expect(await store.listDeliveryAttempts("d-1")).toEqual([
          { deliveryId: "d-1", attempt: 1, time: now, statusCode: 503, error: "HTTP 503", durationMs: 12 },
        ]);
        expect(await store.dueReviewTimers(3_999, 10)).toEqual([]);
        expect(await store.dueReviewTimers(4_000, 10)).toEqual([{ changeId: "c-1", kind: "escalation", dueAt: 4_000 }]);

        await store.close();
        reopened = await reopen();
        expect(await reopened.getDelivery("d-3")).toMatchObject({ status: "DELIVERED", deliveredAt: now });
        expect(await reopened.getSubscription("s-elsewhere")).toBeUndefined();
        expect((await reopened.listDeliveries({}, 10)).map((d) => d.eventId)).toEqual(["e-1", "e-2", "e-1"]);
        // Pruning keeps what is still pending, and anything newer than its limit.
        await reopened.transact((tx) => tx.pruneDeliveries(now));
        expect((await reopened.listDeliveries({}, 10)).map((d) => d.id)).toEqual(["d-1", "d-2", "d-3"]);
        await reopened.transact((tx) => tx.pruneDeliveries("2026-01-02T00:00:00.000Z"));
        expect((await reopened.listDeliveries({}, 10)).map((d) => d.id)).toEqual(["d-1", "d-2"]);
        expect(await reopened.listDeliveryAttempts("d-3")).toEqual([]);
        expect(await reopened.listDeliveryAttempts("d-1")).toHaveLength(1);
      } finally {
        await (reopened ?? store).close();
        cleanup();
      }
    });
  });
}
