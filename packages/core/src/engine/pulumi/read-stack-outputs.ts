import type { OutputMap } from "@pulumi/pulumi/automation/index.js";

/** The key that marks a special value in Pulumi's serialized state: a secret, an asset, an archive, a resource reference. */
const signatureKey = "4dabf18193072939515e22adb298388d";
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The stack's outputs after an update, from the engine's own event for the
 * stack resource (its outputs as the update saved them), so that reading them
 * back costs no CLI start. In that event a secret is blinded: when any output
 * holds a secret (or another special value: an asset, a resource reference),
 * the values come from `readFromCli` (the Automation API's `stack output`
 * read), as they did before. An output is then secret when a secret appears
 * anywhere in it, not only at its top (the Automation API flags only the
 * latter). Without the event (none was seen), `readFromCli` alone.
 */
export async function readStackOutputs(
  fromEvent: Record<string, unknown> | undefined,
  readFromCli: () => Promise<OutputMap>,
): Promise<OutputMap> {
  if (!fromEvent) return await readFromCli();
  if (!Object.values(fromEvent).some(holdsSpecialValue)) {
    return Object.fromEntries(Object.entries(fromEvent).map(([key, value]) => [key, { value, secret: false }]));
  }
  const read = await readFromCli();
  return Object.fromEntries(
    Object.entries(read).map(([key, { value, secret }]) => [
      key,
      // An output the event did not show is treated as secret: never store as plain what may not be.
      { value, secret: secret || !(key in fromEvent) || holdsSecret(fromEvent[key]) },
    ]),
  );
}

function holdsSpecialValue(value: unknown): boolean {
  if (!value || typeof value !== "object") return false;
  if (signatureKey in value) return true;
  return Object.values(value).some(holdsSpecialValue);
}

function holdsSecret(value: unknown): boolean {
  if (!value || typeof value !== "object") return false;
  if ((value as Record<string, unknown>)[signatureKey] === secretSignature) return true;
  return Object.values(value).some(holdsSecret);
}
