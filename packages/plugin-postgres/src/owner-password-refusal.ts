import type { DatabaseSpec } from "./database-spec.ts";
import { withInstanceClient } from "./admin-connection.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/** invalid_password, and invalid_authorization_specification (the role may not log in at all). */
const refusedCodes = new Set(["28P01", "28000"]);

/**
 * Why the database's owner role cannot log in to it with `password` (the
 * password Plinth holds and reveals), or undefined when it logs in. The
 * instance listing shows no password, so this is the only way to tell a
 * password that changed behind Plinth's back (a store restored from before a
 * rotation, an `ALTER ROLE` by hand). Throws when it cannot be told (the
 * instance is unreachable, no connection is free): not knowing is not a
 * refusal. Read-only; the message never holds a password.
 */
export async function ownerPasswordRefusal(
  name: string,
  spec: DatabaseSpec,
  password: string,
  settings: PostgresSettings,
): Promise<string | undefined> {
  const instance = settings.instances[spec.instance];
  const database = spec.database ?? name;
  if (!instance || !spec.owner) return undefined;
  try {
    await withInstanceClient(spec.instance, instance, async () => undefined, {
      database,
      user: spec.owner,
      password,
    });
    return undefined;
  } catch (error) {
    if (!refusedCodes.has((error as { code?: string }).code ?? "")) throw error;
    return (
      `role ${spec.owner} cannot log in to database "${database}" with the password Plinth holds ` +
      "(a backup restored from before a rotation, or a password or LOGIN changed outside Plinth): " +
      "reconcile it to set the password back to that one, or raise rotation for a new one"
    );
  }
}
