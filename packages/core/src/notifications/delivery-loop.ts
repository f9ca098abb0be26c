import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { DeliveryRecord, SubscriptionRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import { backoffDelay } from "../worker/backoff.ts";
import type { EmitDeps } from "./emit-notification.ts";
import { configSubscriptionPrefix } from "./notification-settings.ts";
import { renderWebhook } from "./render-webhook.ts";
import { fireDueReviewTimers } from "./review-timers.ts";
import { postWebhook } from "./post-webhook.ts";
import { signWebhook } from "./sign-webhook.ts";
import { TargetRefusedError } from "./target-policy.ts";

export interface DeliveryLoopOptions {
  pollMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface DeliveryLoopDeps extends EmitDeps {
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  metrics: Pick<Metrics, "webhookDeliveries">;
}

/** How many webhooks one process sends at once. */
const maxInFlight = 8;

/**
 * Sends the outbox: every PENDING delivery whose time has come, until its
 * receiver answers 2xx or it expires. State lives in the store only, so a
 * restarted (or another) server carries on where this one stopped. An
 * attempt first moves the delivery's next attempt past its own timeout (a
 * lease): a server killed mid-attempt leaves it to be sent again after that,
 * with the same event id.
 */
export function createDeliveryLoop(deps: DeliveryLoopDeps, options: DeliveryLoopOptions) {
  const leaseMs = options.timeoutMs + 5_000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();

  async function resolveSubscription(
    id: string,
  ): Promise<(SubscriptionRecord & { secret: string | null }) | undefined> {
    if (id.startsWith(configSubscriptionPrefix)) {
      return deps.notifications.configSubscriptions.find((s) => s.id === id);
    }
    const stored = await deps.store.getSubscription(id);
    if (!stored) return undefined;
    const secret = stored.sealedSecret ? deps.secrets.open(stored.sealedSecret).secret : null;
    return { ...stored, secret: typeof secret === "string" ? secret : null };
  }

  /** Takes the delivery for one attempt, or gives it up when it expired or lost its subscription. */
  async function claim(id: string): Promise<DeliveryRecord | undefined> {
    const subscription = await resolveSubscription((await deps.store.getDelivery(id))?.subscriptionId ?? "");
    return await deps.store.transact(async (tx) => {
      const delivery = await tx.getDelivery(id);
      const now = deps.now().getTime();
      if (!delivery || delivery.status !== "PENDING" || delivery.nextAttemptAt > now) return undefined;
      if (now > delivery.expiresAt || !subscription) {
        await tx.updateDelivery({
          ...delivery,
          status: "EXPIRED",
          lastError: subscription ? delivery.lastError : "the subscription was deleted",
        });
        return undefined;
      }
      const claimed = { ...delivery, attempts: delivery.attempts + 1, nextAttemptAt: now + leaseMs };
      await tx.updateDelivery(claimed);
      return claimed;
    });
  }

  async function attempt(delivery: DeliveryRecord): Promise<void> {
    const subscription = await resolveSubscription(delivery.subscriptionId);
    if (!subscription) return;
    const { body, contentType } = renderWebhook(subscription.format, delivery.event);
    const headers: Record<string, string> = {
      "content-type": contentType,
      "user-agent": "plinth-webhooks/1",
      "plinth-event-id": delivery.eventId,
      "plinth-delivery-id": delivery.id,
      "plinth-delivery-attempt": String(delivery.attempts),
    };
    if (subscription.secret) {
      headers["plinth-signature"] = signWebhook(subscription.secret, body, Math.floor(deps.now().getTime() / 1000));
    }
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      statusCode = await postWebhook(
        deps.notifications.targets,
        new URL(subscription.url),
        headers,
        body,
        AbortSignal.timeout(options.timeoutMs),
      );
      if (statusCode < 200 || statusCode > 299) error = `the receiver answered HTTP ${statusCode}`;
    } catch (caught) {
      const failure = caught as Error & { code?: string; cause?: { name?: string } };
      if (caught instanceof TargetRefusedError) error = `refused to send: ${failure.message}`;
      else if (failure.name === "TimeoutError" || failure.cause?.name === "TimeoutError") {
        error = `no answer within ${options.timeoutMs} ms`;
      } else error = `could not reach the receiver${failure.code ? ` (${failure.code})` : ""}`;
    }
    const durationMs = Date.now() - started;
    const outcome = await deps.store.transact(async (tx): Promise<"delivered" | "failed" | "expired" | undefined> => {
      const now = deps.now();
      await tx.insertDeliveryAttempt({
        deliveryId: delivery.id,
        attempt: delivery.attempts,
        time: now.toISOString(),
        statusCode,
        error,
        durationMs,
      });
      const current = await tx.getDelivery(delivery.id);
      if (!current || current.status !== "PENDING") return undefined;
      if (error === null) {
        await tx.updateDelivery({
          ...current,
          status: "DELIVERED",
          lastError: null,
          lastStatusCode: statusCode,
          deliveredAt: now.toISOString(),
        });
        return "delivered";
      }
      // Another server took it over after our lease ran out: its attempt decides what comes next.
      if (current.attempts !== delivery.attempts) return "failed";
      const next = now.getTime() + backoffDelay(delivery.attempts, options.retryBaseMs, options.retryMaxMs);
      const expired = next > current.expiresAt;
      await tx.updateDelivery({
        ...current,
        status: expired ? "EXPIRED" : "PENDING",
        nextAttemptAt: next,
        lastError: error,
        lastStatusCode: statusCode,
      });
      return expired ? "expired" : "failed";
    });
    if (outcome) deps.metrics.webhookDeliveries.inc({ outcome });
    if (error === null) {
      deps.logger.debug({ delivery: delivery.id, event: delivery.eventId, statusCode }, "webhook delivered");
    } else {
      // The URL may carry a token (Slack's do): log the subscription, never the URL.
      deps.logger.warn(
        { delivery: delivery.id, subscription: delivery.subscriptionId, attempt: delivery.attempts, error },
        "webhook not acknowledged; will retry",
      );
    }
  }

  /**
   * A delivery that could not even be claimed (its subscription did not
   * resolve, e.g. a sealed secret that no configured key opens): counted as a
   * failed attempt and moved back by the backoff, so that it neither comes
   * first in every round, holding the others back, nor outlives its expiry.
   */
  async function setBack(id: string, failure: unknown): Promise<void> {
    deps.logger.error({ err: failure, delivery: id }, "webhook delivery could not be prepared; will retry");
    await deps.store.transact(async (tx) => {
      const current = await tx.getDelivery(id);
      if (!current || current.status !== "PENDING") return;
      const attempts = current.attempts + 1;
      const next = deps.now().getTime() + backoffDelay(attempts, options.retryBaseMs, options.retryMaxMs);
      await tx.updateDelivery({
        ...current,
        attempts,
        status: next > current.expiresAt ? "EXPIRED" : "PENDING",
        nextAttemptAt: next,
        // The error's own text may name what it could not open; the log has it.
        lastError: "the subscription could not be read (see the server log)",
      });
    });
  }

  async function runRound(): Promise<void> {
    // Review timers and deliveries fail apart: a timer that cannot fire holds no delivery back.
    await fireDueReviewTimers(deps).catch((error: unknown) =>
      deps.logger.error({ err: error }, "review timers failed; will retry"),
    );
    const room = maxInFlight - inFlight.size;
    if (room <= 0) return;
    const due = await deps.store.dueDeliveries(deps.now().getTime(), room);
    for (const candidate of due) {
      let claimed: DeliveryRecord | undefined;
      try {
        claimed = await claim(candidate.id);
      } catch (error) {
        await setBack(candidate.id, error).catch((setBackError: unknown) =>
          deps.logger.error({ err: setBackError, delivery: candidate.id }, "webhook delivery could not be set back"),
        );
        continue;
      }
      if (!claimed) continue;
      const sending: Promise<void> = attempt(claimed)
        .catch((error: unknown) => deps.logger.error({ err: error, delivery: claimed.id }, "webhook attempt failed"))
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      round = runRound()
        .catch((error: unknown) => deps.logger.error({ err: error }, "notification round failed"))
        .finally(() => {
          round = undefined;
          schedule(options.pollMs);
        });
    }, delayMs);
  }

  return {
    start(): void {
      running = true;
      schedule(0);
    },
    /** Stops starting attempts and waits for those in flight to be recorded. */
    async stop(): Promise<void> {
      running = false;
      clearTimeout(timer);
      await round;
      await Promise.allSettled([...inFlight]);
    },
  };
}
