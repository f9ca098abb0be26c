import { ConfigError } from "../config/service-config.ts";
import type { Store } from "../store/store.ts";
import type { SecretBox } from "./secret-box.ts";

/** Resources read per page while looking for one with sealed outputs. */
const pageSize = 500;

/**
 * Refuses a start whose `secrets.key` (with `secrets.previousKeys`) cannot open
 * what the store holds: one sealed value of each kind is enough, since every
 * value is sealed with the same key once `rekey` has run. A replica with the
 * wrong key would otherwise report ready and fail every reveal and every change
 * of a resource with secrets as an internal error.
 */
export async function checkSecretsKey(store: Store, box: SecretBox): Promise<void> {
  const subscription = (await store.listSubscriptions()).find((s) => s.sealedSecret);
  if (subscription?.sealedSecret) opens(box, subscription.sealedSecret, `webhook subscription ${subscription.id}`);
  let pageToken = "";
  do {
    const page = await store.listResources({}, pageSize, pageToken);
    const sealed = page.items.find((resource) => resource.secretOutputs);
    if (sealed?.secretOutputs) {
      opens(box, sealed.secretOutputs, `${sealed.type} ${sealed.name}`);
      return;
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
}

function opens(box: SecretBox, sealed: string, what: string): void {
  try {
    box.open(sealed);
  } catch {
    throw new ConfigError(
      `secrets.key: it does not open the secrets in the store (those of ${what}, for one): ` +
        "set secrets.key to the key that sealed them, or list that key in secrets.previousKeys and run rekey",
    );
  }
}
