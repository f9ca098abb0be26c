import { z } from "zod";

/**
 * A `postgres.database` spec. The database is named after the resource
 * unless `database` says otherwise (both checked by `validate`). Only
 * `instance` is required; `database`, `owner` and `connectionLimit` are
 * filled by the defaults when absent.
 */
export const DatabaseSpec = z.strictObject({
  /**
   * The owning team (a Plinth team, not a PostgreSQL role): the one fact
   * authorization, reveals and quotas use. A requester names its own team,
   * an admin any; naming another team on an update is an ownership transfer
   * that a reviewer of the receiving team approves. Default: the team of
   * whoever creates the database.
   */
  team: z.string().min(1).max(63).optional(),
  /** An instance named in the plugin settings. Cannot change once the database exists. */
  instance: z.string().min(1).max(63),
  /** The PostgreSQL database name; default: the resource name. Cannot change once the database exists. */
  database: z.string().min(1).max(63).optional(),
  /** The role that owns the database and logs in with the generated password; default `<database>_owner`. Cannot change. */
  owner: z.string().min(1).max(63).optional(),
  /** Extensions to install in the database, from the instance's allowed list. Order does not matter. */
  extensions: z.array(z.string().min(1).max(63)).max(64).default([]),
  /** Most concurrent connections to the database (superusers excepted). */
  connectionLimit: z.int().min(1).optional(),
  /** Deletion protection: a protected database cannot be deleted until a reviewed change removes the flag. */
  protect: z.boolean().default(false),
  /**
   * Bump to generate a new password for the owner role (0 at creation). The
   * old password stops working as soon as the change applies.
   */
  rotation: z.int().min(0).default(0),
  description: z.string().max(1024).optional(),
});
/** A spec as stored and resolved (defaults of the schema applied). */
export type DatabaseSpec = z.output<typeof DatabaseSpec>;
/** A spec as a client writes it. */
export type DatabaseSpecInput = z.input<typeof DatabaseSpec>;

/** A spec after `resolveDatabaseDefaults`: every defaulted field filled. */
export type ResolvedDatabaseSpec = DatabaseSpec & { database: string; owner: string; connectionLimit: number };

/** True when the defaults have filled the spec (the program and verify need that). */
export function isResolved(spec: DatabaseSpec): spec is ResolvedDatabaseSpec {
  return spec.database !== undefined && spec.owner !== undefined && spec.connectionLimit !== undefined;
}
