import type { Store } from "../store/store.ts";
import type { SecretBox } from "./secret-box.ts";

/** How many sealed values a {@link resealSecrets} run sealed again. */
export interface ResealCount {
  resources: number;
  subscriptions: number;
}

/**
 * Seals every secret in the store again with `box`'s current key: the secret
 * outputs of resources and the signing secrets of webhook subscriptions (the
 * only sealed columns). `box` must still open the old ones (the old key in
 * `secrets.previousKeys`). One short transaction per row, read again inside
 * it, so replicas that keep working meanwhile lose no write; running it twice
 * is harmless.
 */
export async function resealSecrets(store: Store, box: SecretBox): Promise<ResealCount> {
  const count: ResealCount = { resources: 0, subscriptions: 0 };
  let pageToken = "";
  do {
    const page = await store.listResources({}, 200, pageToken);
    for (const listed of page.items) {
      if (!listed.secretOutputs) continue;
      const resealed = await store.transact(async (tx) => {
        const resource = await tx.getResource(listed.type, listed.name);
        if (!resource?.secretOutputs) return false;
        await tx.upsertResource({ ...resource, secretOutputs: box.seal(box.open(resource.secretOutputs)) });
        return true;
      });
      if (resealed) count.resources += 1;
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  for (const listed of await store.listSubscriptions()) {
    if (!listed.sealedSecret) continue;
    const resealed = await store.transact(async (tx) => {
      const subscription = await tx.getSubscription(listed.id);
      if (!subscription?.sealedSecret) return false;
      // No update of a subscription in the store contract: replaced in place, in one transaction.
      await tx.deleteSubscription(subscription.id);
      await tx.insertSubscription({ ...subscription, sealedSecret: box.seal(box.open(subscription.sealedSecret)) });
      return true;
    });
    if (resealed) count.subscriptions += 1;
  }
  return count;
}
