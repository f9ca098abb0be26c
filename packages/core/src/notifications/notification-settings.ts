import type { ServiceConfig } from "../config/service-config.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { NotificationKind, SubscriptionRecord } from "../store/records.ts";
import { type ResolveHost, type TargetPolicy, createTargetPolicy } from "./target-policy.ts";

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
  /** Where webhooks may go: checked when a subscription or callback is made and again before each attempt. */
  targets: TargetPolicy;
  /** Standing subscriptions (not per-change callbacks) one team may hold. */
  maxSubscriptionsPerTeam: number;
}

/** Config subscription ids carry this prefix, so they never clash with API ones. */
export const configSubscriptionPrefix = "config:";

export const toStoredKind = (kind: string): NotificationKind => kind.toUpperCase() as NotificationKind;

export function notificationSettings(
  config: ServiceConfig,
  serverUrl: string,
  secrets: SecretBox,
  /** Tests resolve names through their own table; the system resolver otherwise. */
  resolveHost?: ResolveHost,
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
    targets: createTargetPolicy({
      allowedTargets: notifications.allowedTargets,
      listenHosts: [config.listen.host],
      resolve: resolveHost,
    }),
    maxSubscriptionsPerTeam: notifications.maxSubscriptionsPerTeam,
  };
}
