import { z } from "zod";

/** How the admin connection uses TLS; the names are libpq's `sslmode` values. */
export const SslMode = z.enum(["disable", "require", "verify-full"]);
export type SslMode = z.output<typeof SslMode>;

/** Extensions a spec may list when the instance settings do not say otherwise: common, trusted contrib modules. */
export const defaultAllowedExtensions = ["citext", "hstore", "pg_trgm", "pgcrypto", "uuid-ossp"] as const;

/**
 * Limits a request must stay within on this instance. Violations carry a
 * `GUARDRAIL_` reason: an admin may override them, and the change then needs
 * a reviewer.
 */
const Guardrails = z.strictObject({
  /** The most connections one database may be given. */
  maxConnectionLimit: z.int().min(1).default(100),
});

/** Inputs of the smart defaults (see `database-defaults.ts`). */
const Defaults = z.strictObject({
  connectionLimit: z.int().min(1).default(20),
});

/** One team's limits on an instance; absent = unlimited. */
const QuotaLimits = z.strictObject({ databases: z.int().min(0).optional() });

/** Per-team quotas on an instance: `default` for every team, `teams` overriding it. */
const Quotas = z.strictObject({
  default: QuotaLimits.default({}),
  teams: z.record(z.string().min(1), QuotaLimits).default({}),
});

/**
 * One PostgreSQL server Plinth manages databases on, reached as a role that
 * may create roles and databases (CREATEROLE and CREATEDB, or a superuser;
 * extensions that are not trusted need a superuser).
 */
export const InstanceSettings = z
  .strictObject({
    host: z.string().min(1),
    /** A number, or a string of digits (what `${NAME}` in the service config gives). */
    port: z.coerce.number<number | string>().int().min(1).max(65_535).default(5432),
    adminUser: z.string().min(1),
    /** The admin role's password, written in the config. Prefer `passwordEnv`. */
    adminPassword: z.string().min(1).optional(),
    /** Name of an environment variable of the service holding the admin role's password. */
    passwordEnv: z.string().min(1).optional(),
    /** The database the admin connects to for server-wide statements. */
    database: z.string().min(1).default("postgres"),
    sslmode: SslMode.default("disable"),
    /** PEM of the CA that signed the server's certificate, for `sslmode: verify-full`; the system trust store when absent. */
    caCert: z.string().optional(),
    /** Extensions a spec may ask for on this instance. */
    allowedExtensions: z.array(z.string().min(1)).default([...defaultAllowedExtensions]),
    guardrails: Guardrails.prefault({}),
    defaults: Defaults.prefault({}),
    quotas: Quotas.optional(),
  })
  .refine((instance) => (instance.adminPassword === undefined) !== (instance.passwordEnv === undefined), {
    message: "set exactly one of adminPassword and passwordEnv",
    path: ["adminPassword"],
  });
export type InstanceSettings = z.output<typeof InstanceSettings>;

/** The `postgres` section of the service config. */
export const PostgresSettings = z.strictObject({
  instances: z.record(z.string().min(1), InstanceSettings),
});
export type PostgresSettings = z.output<typeof PostgresSettings>;
export type PostgresSettingsInput = z.input<typeof PostgresSettings>;

/** A team's database quota on `instance`; empty = unlimited. */
export function databaseQuota(settings: PostgresSettings, instance: string, team: string): Record<string, number> {
  const quotas = settings.instances[instance]?.quotas;
  const databases = quotas?.teams[team]?.databases ?? quotas?.default.databases;
  return databases === undefined ? {} : { databases };
}
