// Types of provider-helpers.cjs (plain CommonJS so a dynamic provider can require it at call time).
import type { Client, ClientConfig } from "pg";

/** Where a client connects: the non-secret half of a PostgreSQL instance's settings. */
export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  sslmode: "disable" | "require" | "verify-full";
  caCert?: string;
}

/** The logger `createProviderLogger` returns; `fields` are structured, `message` a sentence. */
export interface ProviderLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** Never log `value`, whatever key or text it appears under (and `registerSecret` it with the engine). */
  conceal(value: string): void;
}

/** Tells the engine about a secret the provider just made, so an error of this operation that echoes it is scrubbed. */
export declare function registerSecret(value: string): void;
export declare function generatePassword(bytes?: number): string;
export declare function scramSha256Verifier(password: string): string;
export declare function postgresClientConfig(
  connection: PostgresConnection,
  password: string,
  database?: string,
  applicationName?: string,
): ClientConfig;
export declare function withPostgresClient<T>(config: ClientConfig, use: (client: Client) => Promise<T>): Promise<T>;
export declare function createProviderLogger(
  component: string,
  options?: { write?: (line: string) => void },
): ProviderLogger;
