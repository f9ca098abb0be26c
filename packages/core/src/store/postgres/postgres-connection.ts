import type { ServiceConfig } from "../../config/service-config.ts";
import { ConfigError } from "../../config/service-config.ts";
import type { PostgresStoreOptions } from "./postgres-store.ts";

type PostgresSettings = NonNullable<ServiceConfig["store"]["postgres"]>;

/** Where the configured PostgreSQL store is, with the password read from its environment variable. */
export function postgresConnection(settings: PostgresSettings): PostgresStoreOptions["connection"] {
  if ("url" in settings) return { url: settings.url };
  let password: string | undefined;
  if (settings.passwordEnv !== undefined) {
    password = process.env[settings.passwordEnv];
    if (password === undefined) {
      throw new ConfigError(`store.postgres.passwordEnv: environment variable ${settings.passwordEnv} is not set`);
    }
  }
  const { host, port, database, user } = settings;
  return { host, port, database, user, ...(password === undefined ? {} : { password }) };
}

/**
 * The same database as a `postgres://` URL, for Pulumi's state backend. It
 * holds the password: never log it.
 */
export function postgresUrl(connection: PostgresStoreOptions["connection"]): string {
  if ("url" in connection) return connection.url;
  const url = new URL("postgres://placeholder");
  url.hostname = connection.host;
  url.port = String(connection.port);
  url.pathname = `/${encodeURIComponent(connection.database)}`;
  url.username = encodeURIComponent(connection.user);
  if (connection.password !== undefined) url.password = encodeURIComponent(connection.password);
  return url.toString();
}

/**
 * Pulumi's backend when the config names none: with a PostgreSQL store, its
 * database (replicas share state), reached the way the store reaches it. The
 * store's driver speaks plain TCP unless the settings ask for TLS, Pulumi's
 * requires TLS unless told otherwise: without an `sslmode`, say `disable`.
 */
export function defaultPulumiBackend(config: ServiceConfig): string | undefined {
  if (!config.store.postgres) return undefined;
  const url = new URL(postgresUrl(postgresConnection(config.store.postgres)));
  if (!url.searchParams.has("sslmode") && !url.searchParams.has("ssl")) url.searchParams.set("sslmode", "disable");
  return url.toString();
}
