import type { dynamic } from "@pulumi/pulumi";
import type { ClientConfig } from "pg";
import type { PostgresConnection } from "@plinth/core/provider-helpers";

/** Where the admin connects; the non-secret half of an instance's settings. */
export type ConnectionProps = PostgresConnection;

/** The inputs of a database resource, as the program declares them (see database-resource.ts). */
export interface DatabaseProps {
  connection: ConnectionProps;
  adminPassword: string;
  instance: string;
  database: string;
  owner: string;
  connectionLimit: number;
  extensions: string[];
  rotation: number;
  /**
   * The owner's password as Plinth's store holds it, when it holds one; it
   * differs from the state's after `plinth-server adopt-secrets` (see `update`).
   */
  held?: string;
}

export declare const databaseProvider: dynamic.ResourceProvider;
export declare function clientConfig(connection: ConnectionProps, password: string, database?: string): ClientConfig;
export declare function markerOf(props: { instance: string; database: string }): string;
