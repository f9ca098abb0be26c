import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The `plinth-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The time is signed too, so a receiver can refuse an old request replayed
 * (docs/notifications.md shows the check in a few lines).
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/** True when `header` is a valid signature of `body` made within `toleranceSeconds` of `nowSeconds`. */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(header.split(",").map((part) => part.split("=", 2) as [string, string]));
  const time = Number(parts.get("t"));
  const given = Buffer.from(parts.get("v1") ?? "", "hex");
  if (!Number.isInteger(time) || Math.abs(nowSeconds - time) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${time}.${body}`).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
