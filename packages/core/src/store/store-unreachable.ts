// Codes, never message text: SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is shutting
// down, crashed or not accepting connections yet: a failover), the socket errors of a database that is not
// there, and a serialization failure or deadlock that was still there after the store's own retries.
const unreachableErrnos = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);
// 55P03, 57014 and 25P03 are the store's own bounds firing (lock_timeout, statement_timeout,
// idle_in_transaction_session_timeout): another session held a lock too long, e.g. a paused replica.
const transientStates = new Set(["57P01", "57P02", "57P03", "40001", "40P01", "55P03", "57014", "25P03"]);

/**
 * True when `error` says the store could not do the work right now (its
 * database unreachable, or too busy with conflicting transactions), as
 * opposed to a fault in a query: nothing was committed, and the client should
 * retry the same request (UNAVAILABLE), e.g. while PostgreSQL fails over.
 */
export function isStoreUnreachable(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (unreachableErrnos.has(code) || transientStates.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/**
 * True when `error` says the store's disk is full (SQLite's SQLITE_FULL,
 * PostgreSQL's 53100 disk_full): the transaction was rolled back, nothing of
 * it is committed, and the same request succeeds once space is freed.
 */
export function isStoreFull(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === "SQLITE_FULL" || code === "53100") return true;
  }
  return false;
}
