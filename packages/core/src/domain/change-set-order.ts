/**
 * A change set member's dependency order: applies first, by kind (topics and
 * databases, then what binds to them, then users, which read topics), then
 * deletions in the reverse order (users before the topics they read). No
 * plugin declares its dependencies in a form core can sort by, so this is the
 * order `plinth apply -f` always used.
 */
export function changeSetOrder(type: string, isDelete: boolean): number {
  const rank = type === "kafka.topic" || type === "postgres.database" ? 0 : type.endsWith(".user") ? 2 : 1;
  return isDelete ? 10 - rank : rank;
}
