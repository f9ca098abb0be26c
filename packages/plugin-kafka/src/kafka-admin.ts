import type { Admin, AdminOptions } from "@platformatic/kafka";
import type { ClusterSettings } from "./cluster-settings.ts";

/** Client options for one cluster, from the plugin settings: bootstrap servers, TLS and SASL. */
export function adminOptions(cluster: ClusterSettings): AdminOptions {
  const tls = cluster.tls?.enabled
    ? {
        ca: cluster.tls.caCert,
        cert: cluster.tls.clientCert,
        key: cluster.tls.clientKey,
        rejectUnauthorized: !cluster.tls.skipVerify,
      }
    : undefined;
  return {
    clientId: "plinth-plugin-kafka",
    bootstrapBrokers: cluster.bootstrapServers,
    // Callers poll (verify) or answer a person (cluster view): fail fast rather than retry for long.
    retries: 1,
    timeout: 10_000,
    ...(tls && { tls }),
    ...(cluster.sasl && { sasl: { ...cluster.sasl } }),
  };
}

/**
 * Runs `use` with an admin client for `cluster` and always closes the client,
 * whatever happens. The client library is imported on first use, so loading
 * the plugin stays cheap.
 */
export async function withAdmin<T>(cluster: ClusterSettings, use: (admin: Admin) => Promise<T>): Promise<T> {
  const { Admin } = await import("@platformatic/kafka");
  const admin = new Admin(adminOptions(cluster));
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}
