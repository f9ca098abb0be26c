import type { Violation } from "../plugin/define-plugin.ts";
import { TargetRefusedError, type TargetPolicy } from "./target-policy.ts";

/** A webhook's URL and secret, as given through the API; `prefix` is the field path above them ("callback."). */
export function checkWebhook(input: { url: string; secret: string }, prefix = ""): Violation[] {
  const violations: Violation[] = [];
  let url: URL | undefined;
  try {
    url = new URL(input.url);
  } catch {
    // Reported below.
  }
  if (!url || !["http:", "https:"].includes(url.protocol)) {
    violations.push({
      field: `${prefix}url`,
      description: "must be an absolute http or https URL, e.g. https://hooks.example.com/plinth",
      reason: "INVALID_URL",
    });
  } else if (url.username || url.password) {
    violations.push({
      field: `${prefix}url`,
      description: "must not carry a user name or password; sign requests with `secret` instead",
      reason: "INVALID_URL",
    });
  }
  if (input.secret !== "" && (input.secret.length < 16 || input.secret.length > 256)) {
    violations.push({
      field: `${prefix}secret`,
      description: "must be empty (unsigned) or 16-256 characters",
      reason: "INVALID_SECRET",
    });
  }
  return violations;
}

/**
 * The URL's syntax and secret as `checkWebhook`, then its host: a URL whose
 * host is, or resolves to, a forbidden address is refused here, before
 * anything is stored (the delivery checks again at send time).
 */
export async function checkWebhookTarget(
  targets: TargetPolicy,
  input: { url: string; secret: string },
  prefix = "",
): Promise<Violation[]> {
  const violations = checkWebhook(input, prefix);
  if (violations.some((v) => v.field === `${prefix}url`)) return violations;
  try {
    await targets.check(new URL(input.url));
  } catch (error) {
    if (!(error instanceof TargetRefusedError)) throw error;
    violations.unshift({
      field: `${prefix}url`,
      description: `not allowed: ${error.message}`,
      reason: "FORBIDDEN_TARGET",
    });
  }
  return violations;
}
