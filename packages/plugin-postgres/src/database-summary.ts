import type { ResourceSummary, SummaryFact, VerifyInput } from "@plinth/core";
import { withInstanceClient } from "./admin-connection.ts";
import { type DatabaseSpec, isResolved } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/**
 * A database's page: its size on disk and open connections, as the instance's
 * catalog reports them to the admin role, beside the spec's connection limit.
 * Reads only; an instance that cannot be reached is named in `missing`.
 */
export async function summarizeDatabase({
  spec,
  settings,
}: Omit<VerifyInput<DatabaseSpec, PostgresSettings>, "secretOutputs">): Promise<ResourceSummary> {
  const instance = settings.instances[spec.instance];
  if (!instance || !isResolved(spec)) return { missing: [`size: unknown instance "${spec.instance}"`] };
  const facts: SummaryFact[] = [];
  try {
    const row = await withInstanceClient(spec.instance, instance, async (client) => {
      const { rows } = await client.query<{ size: string; connections: number | null }>(
        `select pg_database_size(d.oid)::text as size,
                (select s.numbackends from pg_stat_database s where s.datid = d.oid) as connections
           from pg_database d where d.datname = $1`,
        [spec.database],
      );
      return rows[0];
    });
    if (!row) return { missing: [`size: database "${spec.database}" not found on instance "${spec.instance}"`] };
    facts.push({ label: "Size", value: Number(row.size), unit: "bytes", source: "PostgreSQL" });
    if (row.connections !== null) {
      facts.push({ label: "Connections", value: row.connections, unit: "count", source: "PostgreSQL" });
    }
  } catch (error) {
    return {
      facts: [{ label: "Connection limit", value: spec.connectionLimit, unit: "count", source: "spec" }],
      missing: [`size and connections: instance "${spec.instance}" unreachable: ${(error as Error).message}`],
    };
  }
  facts.push({ label: "Connection limit", value: spec.connectionLimit, unit: "count", source: "spec" });
  return { facts };
}
