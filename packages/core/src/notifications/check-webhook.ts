import type { Violation } from "../plugin/define-plugin.ts";

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
