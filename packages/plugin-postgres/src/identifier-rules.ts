import type { Violation } from "@plinth/core";

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const maxIdentifierBytes = 63;

const identifierPattern = /^[a-z][a-z0-9_]*$/;

/**
 * PostgreSQL's reserved key words (`pg_get_keywords()` with catcode R or T,
 * PostgreSQL 15): as names they must be quoted everywhere, which clients get wrong.
 */
export const reservedWords: ReadonlySet<string> = new Set([
  "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both",
  "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross",
  "current_catalog", "current_date", "current_role", "current_schema", "current_time", "current_timestamp",
  "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for",
  "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect",
  "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp",
  "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing",
  "primary", "references", "returning", "right", "select", "session_user", "similar", "some", "symmetric", "table",
  "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when",
  "where", "window", "with",
]); // prettier-ignore

/** Databases every server has: the maintenance database and the templates. */
export const systemDatabases: ReadonlySet<string> = new Set(["postgres", "template0", "template1"]);
/** Role names PostgreSQL refuses or gives a special meaning. */
const systemRoles: ReadonlySet<string> = new Set(["postgres", "public", "none"]);

export type IdentifierKind = "database" | "role";

/**
 * The rules Plinth applies to a database or role name, as violations of
 * `field`: lower-case ASCII letters, digits and underscores, starting with a
 * letter, at most 63 bytes, not a reserved word, not a system name and not
 * starting with "pg_". Names like that never need quoting, so every client
 * and tool can use them as they are. Pure.
 */
export function identifierViolations(field: string, value: string, kind: IdentifierKind): Violation[] {
  const violation = (reason: string, description: string): Violation[] => [{ field, reason, description }];
  const allowed = `a ${kind} name is 1 to ${maxIdentifierBytes} lower-case letters (a-z), digits and underscores, starting with a letter`;
  if (value.length > maxIdentifierBytes) {
    return violation("INVALID_IDENTIFIER", `${allowed}; "${value}" has ${value.length}`);
  }
  if (!identifierPattern.test(value)) {
    return violation("INVALID_IDENTIFIER", `${allowed}; "${value}" is not`);
  }
  if (reservedWords.has(value)) {
    return violation("RESERVED_WORD", `"${value}" is a reserved word in PostgreSQL's SQL: pick another ${kind} name`);
  }
  if (value.startsWith("pg_")) {
    return violation("RESERVED_NAME", `names starting with "pg_" are reserved for PostgreSQL's own ${kind}s`);
  }
  const system = kind === "database" ? systemDatabases : systemRoles;
  if (system.has(value)) {
    return violation("RESERVED_NAME", `"${value}" is a ${kind} PostgreSQL itself uses or reserves`);
  }
  return [];
}
