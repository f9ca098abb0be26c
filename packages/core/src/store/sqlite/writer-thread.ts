// The SQLite store's writer: the only connection that writes, on a thread of its own.
//
// The main thread plans each transaction against committed data and sends it
// here as data: the store calls it made, in order, each with the result the
// plan saw. This thread replays them inside one SQLite transaction per batch
// (group commit), each transaction in its own savepoint. A call whose result
// differs from the plan's means something changed since the plan was made:
// that transaction is rolled back and planned again. SQLite's own commit
// protocol does every sync (synchronous FULL or NORMAL), so COMMIT's sync
// blocks this thread, never the event loop.
//
// Loaded with Node's own type stripping (no TypeScript loader in this thread):
// only erasable TypeScript syntax here and in what it imports.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { SqliteTx } from "./sqlite-tx.ts";
import type { PlannedCall, WriterReply, WriterRequest, WriterSettings } from "./writer-protocol.ts";

const settings = workerData as WriterSettings;
const port = parentPort!;

const db = new Database(settings.path);
db.pragma("journal_mode = WAL");
db.pragma(`synchronous = ${settings.synchronous}`);
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = 5000");
// SQLite checkpoints on its own after a commit grows the WAL past 1,000 pages; here that
// costs this thread, not the event loop. Keep the WAL file from staying large afterwards.
db.pragma("journal_size_limit = 67108864");

const tx = new SqliteTx(db);
const control = {
  begin: db.prepare("BEGIN IMMEDIATE"),
  savepoint: db.prepare("SAVEPOINT work"),
  release: db.prepare("RELEASE work"),
  rollbackTo: db.prepare("ROLLBACK TO work"),
  commit: db.prepare("COMMIT"),
};

type Method = (...args: unknown[]) => Promise<unknown>;

/** Runs one planned transaction's calls; returns why it must be planned again, or undefined when it matched. */
async function replay(calls: PlannedCall[]): Promise<string | undefined> {
  for (const [method, args, expected] of calls) {
    const call = (tx as unknown as Record<string, Method>)[method];
    if (typeof call !== "function") return `the store has no method ${method}`;
    let actual: unknown;
    try {
      actual = await call.apply(tx, args);
    } catch (error) {
      return `${method}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (expected !== null && JSON.stringify(actual ?? null) !== expected) {
      return `${method} saw other data than when the transaction was planned`;
    }
  }
  return undefined;
}

async function runBatch(request: Extract<WriterRequest, { kind: "batch" }>): Promise<WriterReply> {
  const results: (string | null)[] = [];
  try {
    control.begin.run();
    tx.forgetWrites();
    for (const calls of JSON.parse(request.transactions) as PlannedCall[][]) {
      control.savepoint.run();
      const conflict = await replay(calls);
      if (conflict !== undefined) {
        control.rollbackTo.run();
        tx.forgetWrites();
      }
      control.release.run();
      results.push(conflict ?? null);
    }
    control.commit.run();
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    tx.touchedResources.length = 0;
    return { kind: "failed", id: request.id, message: error instanceof Error ? error.message : String(error) };
  }
  const touched = tx.touchedResources.splice(0);
  return { kind: "batch", id: request.id, results, touched };
}

let chain = Promise.resolve();
port.on("message", (request: WriterRequest) => {
  chain = chain.then(async () => {
    if (request.kind === "batch") {
      port.postMessage(await runBatch(request));
    } else if (request.kind === "settings") {
      port.postMessage({
        kind: "settings",
        id: request.id,
        journalMode: String(db.pragma("journal_mode", { simple: true })),
        synchronous: Number(db.pragma("synchronous", { simple: true })),
      } satisfies WriterReply);
    } else {
      // The last connection to close checkpoints the WAL into the database and removes it, synced at this level.
      db.close();
      port.close();
    }
  });
});
