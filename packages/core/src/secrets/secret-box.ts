import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { JsonObject } from "../domain/types.ts";

/**
 * Encrypts secret outputs at rest with AES-256-GCM. The key comes from the
 * service config; the stored form is "v1.<iv>.<tag>.<ciphertext>" (base64url)
 * so the scheme can change later without guessing. During a key rotation the
 * previous keys still open what they sealed (GCM's tag tells which key fits);
 * sealing always uses the current key. See `plinth rekey` in docs/security.md.
 */
export interface SecretBox {
  seal(values: JsonObject): string;
  open(sealed: string): JsonObject;
}

export function createSecretBox(key: string, previousKeys: readonly string[] = []): SecretBox {
  // Any passphrase length works: the AES key is its SHA-256.
  const aesKey = aesKeyOf(key);
  const openers = [aesKey, ...previousKeys.map(aesKeyOf)];
  return {
    seal(values) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", aesKey, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(values), "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), body]
        .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
        .join(".");
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split(".");
      if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("sealed secret has an unknown format");
      for (const candidate of openers) {
        const text = tryOpen(candidate, iv, tag, body);
        if (text !== undefined) return JSON.parse(text) as JsonObject;
      }
      // Never the value or a key in the message: it can end up in a log.
      throw new Error("sealed secret does not open with the configured secrets.key (or secrets.previousKeys)");
    },
  };
}

function aesKeyOf(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/** The plain text, or undefined when the tag does not match: another key sealed it. */
function tryOpen(aesKey: Buffer, iv: string, tag: string, body: string): string | undefined {
  const decipher = createDecipheriv("aes-256-gcm", aesKey, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
