import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/** The environment variable naming the file `registerSecret` (provider-helpers) appends to. */
export const generatedSecretsVariable = "PLINTH_GENERATED_SECRETS";

/** Where one stack's operation collects the secrets its providers generate: inside its private work directory. */
export function generatedSecretsFile(workDir: string): string {
  return join(workDir, ".generated-secrets");
}

/**
 * The secret values providers registered during the operation so far (one
 * JSON string a line). A missing file is none; a torn last line (a provider
 * killed mid-write) is skipped rather than failing the operation.
 */
export function readGeneratedSecrets(file: string | undefined): string[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const values: string[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "string") values.push(value);
    } catch {
      // torn line
    }
  }
  return values;
}

/** Forgets them once the operation's messages are out: they are plain text, however private the directory. */
export function removeGeneratedSecrets(file: string): void {
  rmSync(file, { force: true });
}
