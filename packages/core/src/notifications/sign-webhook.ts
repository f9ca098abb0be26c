import { createHmac } from "node:crypto";

/**
 * The `plinth-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The time is signed too, so a receiver can refuse an old request replayed
 * (docs/notifications.md shows the check in a few lines).
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}
