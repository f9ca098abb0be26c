// The SQLite store's checkpointer: a second connection, on a thread of its own,
// that copies the WAL into the database file so that the event loop never
// waits on a checkpoint (the store's connection has wal_autocheckpoint = 0).
//
// PASSIVE never waits for the writer or readers and takes no lock a writer
// needs: it copies what it can, at the configured `synchronous` level (at FULL
// it syncs the WAL before copying and the database file after), and SQLite
// itself starts the WAL over at the next write once every frame is copied.
//
// Loaded with Node's own type stripping (no TypeScript loader in this thread):
// only erasable TypeScript syntax here.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

export interface CheckpointSettings {
  path: string;
  synchronous: "FULL" | "NORMAL";
  intervalMs: number;
}

const settings = workerData as CheckpointSettings;
const port = parentPort!;

const db = new Database(settings.path);
db.pragma(`synchronous = ${settings.synchronous}`);
db.pragma("busy_timeout = 5000");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");

const timer = setInterval(() => {
  try {
    checkpoint.run();
  } catch (error) {
    // SQLITE_BUSY: another checkpoint runs (the closing connection's); SQLITE_FULL: the disk is full, and the
    // frames stay in the WAL. Either way nothing is lost, and the next tick tries again.
    const code = (error as { code?: string }).code;
    if (code !== "SQLITE_BUSY" && code !== "SQLITE_FULL") throw error;
  }
}, settings.intervalMs);

port.on("message", () => {
  clearInterval(timer);
  db.close();
  port.close();
});
