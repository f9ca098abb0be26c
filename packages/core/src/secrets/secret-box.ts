import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { JsonObject } from "../domain/types.ts";

/**
 * Encrypts secret outputs at rest with AES-256-GCM. The key comes from the
 * service config; the stored form is "v1.<iv>.<tag>.<ciphertext>" (base64url)
 * so the scheme can change later without guessing.
 */
export interface SecretBox {
  seal(values: JsonObject): string;
  open(sealed: string): JsonObject;
}

export function createSecretBox(key: string): SecretBox {
  // Any passphrase length works: the AES key is its SHA-256.
  const aesKey = createHash("sha256").update(key).digest();
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
      const decipher = createDecipheriv("aes-256-gcm", aesKey, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      const text = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
      return JSON.parse(text) as JsonObject;
    },
  };
}
