import type { PluginRegistry } from "../plugin/registry.ts";
import type { Store } from "../store/store.ts";
import type { Notifier } from "./notifier.ts";
import type { GlobalReviewPolicy } from "./review-policy.ts";

/** What the change lifecycle needs; passed in so tests can wire real or partial parts. */
export interface LifecycleDeps {
  store: Store;
  plugins: PluginRegistry;
  reviewPolicy: GlobalReviewPolicy;
  notifier: Notifier;
  now: () => Date;
  newId: () => string;
}
