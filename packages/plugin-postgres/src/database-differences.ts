import type { InventoryItem } from "@plinth/core";
import type { DatabaseSpec } from "./database-spec.ts";

/**
 * How a database the instance listing found (undefined: none under its
 * identity) differs from its recorded resolved spec: its owner and
 * connection limit, as pg_database holds them. Extensions live inside the
 * database and are not in the listing: the full check (`verify` and a
 * refreshing preview) sees them when it runs. Pure.
 */
export function databaseDifferences(item: InventoryItem | undefined, name: string, spec: DatabaseSpec): string[] {
  const database = spec.database ?? name;
  if (!item) return [`database "${database}" not found on instance "${spec.instance}"`];
  const observed = item.observed as { owner?: unknown; connectionLimit?: unknown };
  const differences: string[] = [];
  if (spec.owner !== undefined && observed.owner !== spec.owner) {
    differences.push(`owner: ${String(observed.owner)} on the instance, ${spec.owner} recorded`);
  }
  if (spec.connectionLimit !== undefined && observed.connectionLimit !== spec.connectionLimit) {
    differences.push(
      `connectionLimit: ${String(observed.connectionLimit)} on the instance, ${spec.connectionLimit} recorded`,
    );
  }
  return differences;
}
