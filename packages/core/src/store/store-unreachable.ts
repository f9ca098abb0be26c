// Codes, never message text: SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is shutting
// down, crashed or not accepting connections yet: a failover), and the socket errors of a database that is
// not there.
const unreachableErrnos = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);
const unreachableStates = new Set(["57P01", "57P02", "57P03"]);

/**
 * True when `error` says the store's database could not be reached, as
 * opposed to a fault in a query: the client should retry the same request
 * (UNAVAILABLE), e.g. while PostgreSQL fails over.
 */
export function isStoreUnreachable(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (unreachableErrnos.has(code) || unreachableStates.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}
