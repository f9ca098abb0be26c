import type pg from "pg";
import type { ConnectionProps } from "./database-provider.cjs";
import type { InstanceSettings } from "./instance-settings.ts";
import { providerHelpers, providerModule } from "./provider-module.ts";

/** The admin role's password: from the settings, or from the environment variable they name. Never logged. */
export function adminPassword(instanceName: string, instance: InstanceSettings): string {
  if (instance.adminPassword !== undefined) return instance.adminPassword;
  const variable = instance.passwordEnv ?? "";
  const value = process.env[variable];
  if (!value) {
    throw new Error(`instance "${instanceName}": environment variable ${variable} (passwordEnv) is not set`);
  }
  return value;
}

/** Where the admin connects: the non-secret part of the instance settings, as the dynamic provider takes it. */
export function connectionProps(instance: InstanceSettings): ConnectionProps {
  return {
    host: instance.host,
    port: instance.port,
    user: instance.adminUser,
    database: instance.database,
    sslmode: instance.sslmode,
    ...(instance.caCert !== undefined && { caCert: instance.caCert }),
  };
}

/**
 * Runs `use` with a client connected as `user` (default: the instance's
 * admin) to `database` (default: the admin database), and always closes
 * it. `pg` is loaded on first use, so loading the plugin stays cheap.
 */
export async function withInstanceClient<T>(
  instanceName: string,
  instance: InstanceSettings,
  use: (client: pg.Client) => Promise<T>,
  options: { database?: string; user?: string; password?: string } = {},
): Promise<T> {
  const connection = { ...connectionProps(instance), ...(options.user !== undefined && { user: options.user }) };
  const password = options.password ?? adminPassword(instanceName, instance);
  return await providerHelpers.withPostgresClient(
    providerModule.clientConfig(connection, password, options.database),
    use,
  );
}
