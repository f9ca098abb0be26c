import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

const role = z.enum(["requester", "reviewer", "admin"]);
/** Connections one replica keeps to PostgreSQL; each running transaction holds one. */
const poolSize = z.number().int().min(1).max(1000).default(10);

/** The service config file (YAML). Every field is checked at start; a bad file stops the server with one message. */
export const ServiceConfigSchema = z
  .object({
    listen: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(8080) })
      .prefault({}),
    /** Relative paths are relative to the config file. */
    dataDir: z.string().default("./.plinth"),
    store: z
      .object({
        sqlite: z.object({ synchronous: z.enum(["FULL", "NORMAL"]).default("FULL") }).prefault({}),
        /** Set: the shared PostgreSQL store, for several replicas, instead of the embedded SQLite file. */
        postgres: z
          .union([
            z.object({ url: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"), poolSize }).strict(),
            z
              .object({
                host: z.string().min(1),
                port: z.number().int().min(1).max(65535).default(5432),
                database: z.string().min(1),
                user: z.string().min(1),
                /** The environment variable holding the password, so that it stays out of the file. */
                passwordEnv: z
                  .string()
                  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
                  .optional(),
                poolSize,
              })
              .strict(),
          ])
          .optional(),
      })
      .prefault({}),
    engine: z
      .object({
        /** Any Pulumi backend URL; default file://<dataDir>/pulumi. */
        backendUrl: z.string().optional(),
        /** Passphrase of Pulumi's secrets provider. */
        passphrase: z.string().min(1),
        concurrency: z.number().int().min(1).max(32).default(2),
      })
      .strict(),
    secrets: z.object({ key: z.string().min(16, "use at least 16 characters") }).strict(),
    principals: z
      .array(
        z
          .object({
            id: z.string().min(1),
            team: z.string().min(1),
            roles: z.array(role).min(1),
            tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, "must be the hex SHA-256 of the token"),
          })
          .strict(),
      )
      .min(1),
    review: z
      .object({
        approvals: z
          .object({
            CREATE: z.number().int().min(0).default(0),
            UPDATE: z.number().int().min(0).default(0),
            DELETE: z.number().int().min(0).default(1),
          })
          .prefault({}),
      })
      .prefault({}),
    worker: z
      .object({
        concurrency: z.number().int().min(1).default(2),
        leaseMs: z.number().int().min(100).default(30_000),
        pollMs: z.number().int().min(10).default(1_000),
        maxAttempts: z.number().int().min(1).default(5),
        retryBaseMs: z.number().int().min(0).default(2_000),
        retryMaxMs: z.number().int().min(0).default(60_000),
        verifyTimeoutMs: z.number().int().min(0).default(60_000),
      })
      .prefault({}),
    reconcile: z
      .object({
        /** Time between drift checks of every settled resource; 0 turns them off. */
        intervalMs: z.number().int().min(0).default(60_000),
      })
      .prefault({}),
    console: z
      .object({
        /** The built console (index.html and assets/); default: the dist of the installed @plinth/console. */
        dir: z.string().optional(),
      })
      .strict()
      .prefault({}),
    plugins: z
      .array(
        z
          .object({
            /** A package name or a path to a TypeScript module. */
            module: z.string().min(1),
            /** The named export holding the plugin. */
            export: z.string().min(1),
            settings: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Replaces ${NAME} in strings with environment variables, so secrets can stay out of the file. */
function interpolate(value: unknown, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_match, name: string) => {
      const found = process.env[name];
      if (found === undefined) throw new ConfigError(`${path}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, `${path}[${index}]`));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}

export interface LoadedConfig {
  config: ServiceConfig;
  /** Directory of the config file: relative paths start here. */
  baseDir: string;
  dataDir: string;
}

export function parseServiceConfig(raw: unknown, baseDir: string): LoadedConfig {
  const result = ServiceConfigSchema.safeParse(interpolate(raw, ""));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return { config: result.data, baseDir, dataDir: resolve(baseDir, result.data.dataDir) };
}

export function loadServiceConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseServiceConfig(parse(text), dirname(resolve(file)));
}
