import type { ServiceConfig } from "../config/service-config.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { NotificationKind, SubscriptionRecord } from "../store/records.ts";

/** A subscription from the service config: never in the store, its secret in memory only. */
export interface ConfiguredSubscription extends SubscriptionRecord {
  secret: string | null;
}

/** What emitting and delivering notifications needs from the config. */
export interface NotificationSettings {
  configSubscriptions: ConfiguredSubscription[];
  /** Base of the console links in messages, without a trailing slash. */
  consoleUrl: string;
  remindAfterMs: number;
  escalateAfterMs: number;
  expireAfterMs: number;
  /** expireAfterMs for per-change callbacks. */
  callbackExpireAfterMs: number;
  /** Seals an API subscription's secret for the store (the service's secret key). */
  sealSecret: (secret: string) => string;
}

/** Config subscription ids carry this prefix, so they never clash with API ones. */
export const configSubscriptionPrefix = "config:";

export const toStoredKind = (kind: string): NotificationKind => kind.toUpperCase() as NotificationKind;

export function notificationSettings(
  config: ServiceConfig,
  serverUrl: string,
  secrets: SecretBox,
): NotificationSettings {
  const { notifications } = config;
  return {
    configSubscriptions: notifications.subscriptions.map((s) => ({
      id: `${configSubscriptionPrefix}${s.id}`,
      // No owner team: only admins see its deliveries.
      ownerTeam: s.ownerTeam ?? "",
      createdBy: "config",
      url: s.url,
      format: s.format,
      sealedSecret: null,
      secret: s.secret ?? null,
      teams: s.teams,
      types: s.types,
      kinds: s.kinds.map(toStoredKind),
      changeId: null,
      createdAt: "1970-01-01T00:00:00.000Z",
    })),
    consoleUrl: (notifications.consoleUrl ?? serverUrl).replace(/\/+$/, ""),
    remindAfterMs: notifications.review.remindAfterMs,
    escalateAfterMs: notifications.review.escalateAfterMs,
    expireAfterMs: notifications.delivery.expireAfterMs,
    callbackExpireAfterMs: notifications.delivery.callbackExpireAfterMs,
    sealSecret: (secret) => secrets.seal({ secret }),
  };
}
