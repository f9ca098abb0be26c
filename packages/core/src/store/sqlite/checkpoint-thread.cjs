// The SQLite store's checkpoint copy, on a thread of its own.
//
// A checkpoint copies the WAL's pages into the database file: 5-10 ms of
// work once a second under load, which on the event loop held up every
// request for that long. Here it runs beside the writer, which SQLite allows
// in WAL mode. The store decides when it runs, keeps the WAL pinned meanwhile
// and syncs the database file afterwards (sqlite-store.ts): this connection
// never syncs and never writes a row.
//
// Plain CommonJS, so that it runs as it is in a worker thread whatever loader
// the main thread uses for TypeScript.
"use strict";

const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.betterSqlite3);

const db = new Database(workerData.path);
db.pragma("synchronous = OFF");

parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
