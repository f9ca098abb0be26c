import type { ClusterSettings } from "./cluster-settings.ts";
import { adminOptions } from "./kafka-admin.ts";

/** One stored SCRAM credential of a user, as the cluster describes it (never the password). */
export interface ScramCredentialInfo {
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512" | "UNKNOWN";
  iterations: number;
}

const mechanisms = { 1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512" } as const;

function hostAndPort(server: string): [string, number] {
  const colon = server.lastIndexOf(":");
  return [server.slice(0, colon).replace(/^\[|\]$/g, ""), Number(server.slice(colon + 1))];
}

/**
 * Every user with SCRAM credentials on the cluster (Kafka's
 * DescribeUserScramCredentials, which the admin client does not wrap), by
 * user name. Read-only. Tries the bootstrap servers in turn; throws when none answers.
 */
export async function describeScramUsers(cluster: ClusterSettings): Promise<Map<string, ScramCredentialInfo[]>> {
  const { Connection, describeUserScramCredentialsV0 } = await import("@platformatic/kafka");
  const options = adminOptions(cluster);
  let lastError: unknown;
  for (const server of cluster.bootstrapServers) {
    const connection = new Connection("plinth-plugin-kafka", {
      connectTimeout: 10_000,
      requestTimeout: 10_000,
      ...(options.tls && { tls: options.tls }),
      ...(options.sasl && { sasl: options.sasl }),
    });
    // A broker that hangs past the connect timeout fails the SASL handshake later, as an 'error' event
    // on the connection once connect() has stopped listening: with no listener Node throws it, an
    // uncaught exception that takes the whole server down. The failure is already reported by connect().
    connection.on("error", () => {});
    try {
      await connection.connect(...hostAndPort(server));
      // null = every user: no per-user "not found" errors to tell from real ones.
      const response = await describeUserScramCredentialsV0.api.async(connection, null);
      return new Map(
        response.results.map((result) => [
          result.user,
          result.credentialInfos.map((info) => ({
            mechanism: mechanisms[info.mechanism as 1 | 2] ?? "UNKNOWN",
            iterations: info.iterations,
          })),
        ]),
      );
    } catch (error) {
      lastError = error;
    } finally {
      await connection.close();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
