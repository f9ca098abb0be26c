import type { ClusterSettings } from "./cluster-settings.ts";
import { describeScramUsers } from "./scram-users.ts";
import { userScramMechanism } from "./user-spec.ts";
import { passwordRefusal } from "./user-verify.ts";

/**
 * Why the broker holds a SCRAM credential for `name` under another password
 * than `password` (the one Plinth holds), or undefined when it logs in, the
 * cluster has no SASL, or there is no credential at all (nothing a repair
 * would cut off: the listing reports a missing credential). A mismatch means
 * clients log in with a password Plinth does not hold, and any apply of the
 * user sets it back: core then holds that apply for a reviewer. One login,
 * and one listing only when refused. Read-only; throws when the cluster
 * cannot be reached. The message never holds a password.
 */
export async function passwordMismatch(
  cluster: ClusterSettings,
  name: string,
  password: string,
): Promise<string | undefined> {
  const refused = await passwordRefusal(cluster, name, password);
  if (!refused) return undefined;
  const credentials = (await describeScramUsers(cluster)).get(name) ?? [];
  return credentials.some((credential) => credential.mechanism === userScramMechanism) ? refused : undefined;
}
