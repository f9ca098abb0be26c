import type { JsonObject } from "../domain/types.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { ChangePreview, ResourceRecord } from "../store/records.ts";

/** How long the plugin's secret check may take before the change is reviewed rather than applied on a guess. */
const secretCheckTimeoutMs = 8_000;

/** The key of a preview's `details` that lists the secret mismatches found (see `secretMismatches`). */
export const secretMismatchKey = "secretMismatches";

/** The review reason of a change applied over a secret the real system holds otherwise. */
export const secretMismatchReason =
  "the real system holds another secret than the one Plinth holds (a store restored from before a rotation, a " +
  "password set outside Plinth): applying sets it back to Plinth's and cuts off every client using the other, so " +
  "a reviewer decides, whatever the review rules say";

/**
 * Whether the secrets Plinth holds for `resource` still match the real
 * system, as the plugin's `observeInBulk.checkSecrets` tells (a SCRAM or
 * PostgreSQL login with the stored password). Any apply of such a resource
 * sets the secret back to Plinth's, so a mismatch holds the change for a
 * reviewer. Returns the plugin's findings, in words (never a secret); empty
 * when the plugin has no such check or Plinth holds no secret. A check that
 * fails or does not answer in time is a finding too: the change is then
 * reviewed, never applied on a guess. Must change nothing.
 */
export async function secretMismatches(
  plugin: LoadedPlugin,
  resource: ResourceRecord | undefined,
  secrets: SecretBox,
): Promise<string[]> {
  const check = plugin.definition.observeInBulk?.checkSecrets;
  if (!check || !resource?.secretOutputs || !resource.resolvedSpec) return [];
  let held: JsonObject;
  try {
    held = secrets.open(resource.secretOutputs);
  } catch {
    return ["the secrets Plinth holds cannot be opened with secrets.key, so they could not be checked"];
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(() => check(resource.name, resource.resolvedSpec, held, plugin.context)),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${secretCheckTimeoutMs} ms`)),
          secretCheckTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    return [`could not check its secrets: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    clearTimeout(timer);
  }
}

/** The mismatches a preview recorded (see `secretMismatches`). */
export function previewSecretMismatches(preview: ChangePreview): string[] {
  const found = preview.details[secretMismatchKey];
  return Array.isArray(found) ? found.filter((item): item is string => typeof item === "string") : [];
}
