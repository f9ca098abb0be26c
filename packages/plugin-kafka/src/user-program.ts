import type { ProgramInput } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import type { UserSpec } from "./user-spec.ts";

/**
 * The Pulumi program of one user: its SCRAM-SHA-512 credential with a
 * generated password (a dynamic resource: made once, kept in state, new
 * when `rotation` changes), a provider for its cluster and its ACLs. Outputs:
 * `{ username, mechanism, rotation, cluster, bootstrapServers, password }`,
 * `password` secret. The Pulumi SDK is imported lazily (see `topicProgram`).
 */
export async function userProgram({ name, spec, settings, secretOutputs }: ProgramInput<UserSpec, KafkaSettings>) {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) throw new Error(`unknown cluster "${spec.cluster}"`);
  const { declareUser } = await import("./user-resources.ts");
  const held = secretOutputs?.password;
  return declareUser(name, spec, cluster, typeof held === "string" ? held : undefined);
}
