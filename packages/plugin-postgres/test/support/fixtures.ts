import type { PluginContext, PluginLogger } from "@plinth/core";
import {
  DatabaseSpec,
  type DatabaseSpecInput,
  PostgresSettings,
  type PostgresSettingsInput,
  postgresDatabase,
} from "../../src/index.ts";

/** Two instances: "main" (a tight guardrail, extra allowed extensions) and "small" (built-in limits). */
export const settingsInput: PostgresSettingsInput = {
  instances: {
    main: {
      host: "db-main.internal",
      adminUser: "plinth_admin",
      passwordEnv: "PLINTH_TEST_UNUSED_PASSWORD",
      allowedExtensions: ["citext", "pgcrypto", "pg_trgm", "hstore"],
      guardrails: { maxConnectionLimit: 50 },
      defaults: { connectionLimit: 10 },
    },
    small: { host: "127.0.0.1", port: 5433, adminUser: "postgres", adminPassword: "fixture-only-admin-value" },
  },
};
export const settings: PostgresSettings = PostgresSettings.parse(settingsInput);

export const silent: PluginLogger = { debug() {}, info() {}, warn() {}, error() {} };
export const ctx: PluginContext<PostgresSettings> = { settings, logger: silent };

/** A valid spec on "main", parsed; `overrides` replace top-level fields. */
export function databaseSpec(overrides: Partial<DatabaseSpecInput> = {}): DatabaseSpec {
  return DatabaseSpec.parse({ instance: "main", ...overrides });
}

/** `databaseSpec` with the defaults applied, for resource `name`. */
export function resolvedSpec(name: string, overrides: Partial<DatabaseSpecInput> = {}): DatabaseSpec {
  return postgresDatabase.defaults!(name, databaseSpec(overrides), ctx).spec;
}

/** Settings for one real server (from `startPostgres()`) as instance "local". */
export function localSettings(server: { host: string; port: number; user: string; password: string }) {
  return PostgresSettings.parse({
    instances: {
      local: {
        host: server.host,
        port: server.port,
        adminUser: server.user,
        adminPassword: server.password,
        guardrails: { maxConnectionLimit: 50 },
      },
    },
  });
}
