import type { PluginRegistry } from "../plugin/registry.ts";
import type { Store } from "../store/store.ts";
import type { NotificationSettings } from "../notifications/notification-settings.ts";
import type { Notifier } from "./notifier.ts";
import type { GlobalReviewPolicy } from "./review-policy.ts";

/** What the change lifecycle needs; passed in so tests can wire real or partial parts. */
export interface LifecycleDeps {
  store: Store;
  plugins: PluginRegistry;
  reviewPolicy: GlobalReviewPolicy;
  notifier: Notifier;
  /** Webhook subscriptions from the config and the timings of reminders: events go to the outbox with the change. */
  notifications: NotificationSettings;
  now: () => Date;
  newId: () => string;
  /** What one caller may ask of the service at once (the config's `limits`). */
  limits: CallLimits;
}

export interface CallLimits {
  /** Resources and changes one PreviewResource or ListAccessGrants call may read. */
  maxReadsPerCall: number;
  /** WatchChange streams one principal may hold open at once. */
  maxWatchesPerPrincipal: number;
  /** Resources an approved import records per transaction (see record-import.ts). */
  importBatchSize: number;
}
