import type * as kafka from "@pulumi/kafka";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings } from "./cluster-settings.ts";

/** The provider's names for SASL mechanisms differ from Kafka's. */
const saslMechanism = {
  PLAIN: "plain",
  "SCRAM-SHA-256": "scram-sha256",
  "SCRAM-SHA-512": "scram-sha512",
} as const;

/**
 * `@pulumi/kafka` provider arguments for one cluster. TLS is off unless the
 * settings turn it on (the provider's own default is on, which fails against
 * a PLAINTEXT listener); the SASL password is a Pulumi secret, encrypted in state.
 */
export function clusterProviderArgs(cluster: ClusterSettings): kafka.ProviderArgs {
  const tls = cluster.tls;
  return {
    bootstrapServers: cluster.bootstrapServers,
    tlsEnabled: tls?.enabled ?? false,
    ...(tls?.enabled && {
      caCert: tls.caCert,
      clientCert: tls.clientCert,
      clientKey: tls.clientKey === undefined ? undefined : pulumi.secret(tls.clientKey),
      skipTlsVerify: tls.skipVerify,
    }),
    ...(cluster.sasl && {
      saslMechanism: saslMechanism[cluster.sasl.mechanism],
      saslUsername: cluster.sasl.username,
      saslPassword: pulumi.secret(cluster.sasl.password),
    }),
    ...(cluster.kafkaVersion && { kafkaVersion: cluster.kafkaVersion }),
  };
}
