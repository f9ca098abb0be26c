import type { JsonRecord } from "./types.ts";

/** JSON of anything the API returns (protobuf messages carry bigints). */
export const asText = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner)) ?? "";

/**
 * The strings a secret output's value could show up as: the value itself
 * (or each string inside it), JSON-escaped, URL-encoded and base64 (standard
 * and URL-safe, as whole values: a secret inside a larger base64 blob shifts
 * with its offset and is not searched). Short strings are left out: "1" or
 * "true" would be found everywhere and prove nothing.
 */
export function secretNeedles(value: unknown): string[] {
  const strings: string[] = [];
  const walk = (inner: unknown) => {
    if (typeof inner === "string") strings.push(inner);
    else if (typeof inner === "number") strings.push(String(inner));
    else if (Array.isArray(inner)) inner.forEach(walk);
    else if (inner && typeof inner === "object") Object.values(inner).forEach(walk);
  };
  walk(value);
  const needles = strings.filter((text) => text.length >= 8);
  return [
    ...new Set(
      needles.flatMap((text) => {
        const base64 = Buffer.from(text).toString("base64");
        return [
          text,
          JSON.stringify(text).slice(1, -1),
          encodeURIComponent(text),
          base64,
          base64.replace(/=+$/, ""),
          Buffer.from(text).toString("base64url"),
        ];
      }),
    ),
  ];
}

/**
 * "secret output "password" appears in GetResource", one line per key and
 * place where it was seen. `revealed` is keyed by what the value is (a
 * secret output's name, or "generated" for what the providers registered).
 */
export function findSecretValues(revealed: Record<string, unknown[]>, places: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [key, values] of Object.entries(revealed)) {
    const needles = values.flatMap(secretNeedles);
    const what = key === generatedKey ? "a secret the plugin generated" : `secret output "${key}"`;
    for (const [place, text] of Object.entries(places)) {
      if (needles.some((needle) => text.includes(needle))) found.push(`${what} appears in ${place}`);
    }
  }
  return found;
}

/** The key `findSecretValues` reads as "what the providers generated" (registerSecret), not an output's name. */
export const generatedKey = "(generated)";

const credentialKey = /pass(word|wd|phrase)?$|secret|token|credential|private.?key|api.?key/i;
/** A URI with a password in its user info: scheme://user:password@host. */
const credentialUri = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
/** A libpq-style or ODBC-style connection string carrying a password: `host=db password=...`. */
const credentialPair = /(^|[\s;])(password|pwd|passwd)\s*=\s*\S/i;

/**
 * Plain (non-secret) outputs that look like credentials: a key named like
 * one, or a URI carrying a password. A plugin that forgot to list them in
 * `secretOutputs` returns them to every reader.
 */
export function credentialShapedOutputs(outputs: JsonRecord): string[] {
  return Object.entries(outputs).flatMap(([key, value]) => {
    if (credentialKey.test(key)) return [`output "${key}" is named like a credential`];
    if (typeof value === "string" && credentialUri.test(value)) return [`output "${key}" is a URI with a password`];
    if (typeof value === "string" && credentialPair.test(value)) {
      return [`output "${key}" is a connection string with a password`];
    }
    return [];
  });
}
