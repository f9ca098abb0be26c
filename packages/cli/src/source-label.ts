/**
 * The label `apply -f DIR` sets on every resource of the folder, valued with
 * the folder's source name. Prune only ever considers resources that carry it
 * with this folder's name. Spelled like the server's own `plinth/repair`.
 */
export const sourceLabel = "plinth/source";

/** The order resources are applied in: what others read first, users last (deletes go the other way). */
export function applyRank(type: string): number {
  // No plugin declares its dependencies in a form the API returns (`reaches` is judged on the server
  // only), so the order is by kind: topics and databases, then what binds to them (schemas), then users.
  if (type === "kafka.topic" || type === "postgres.database") return 0;
  if (type.endsWith(".user")) return 2;
  return 1;
}
