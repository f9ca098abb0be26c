/** Secrets shorter than this are not searched for: replacing "x" everywhere would garble every message. */
const minimumSecretLength = 4;

/**
 * Replaces every occurrence of each secret (the Pulumi passphrase, secret
 * output values) with "[secret]". Pure. Used on every message that leaves
 * the engine.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= minimumSecretLength) redacted = redacted.replaceAll(secret, "[secret]");
  }
  return redacted;
}
