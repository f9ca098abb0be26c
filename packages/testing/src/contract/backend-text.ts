import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/**
 * Every file of a file:// Pulumi backend (checkpoints, their backups, the
 * history, locks), each as "<path>\n<content>", for the secret scan: a
 * value listed in `secretOutputs` that the provider did not mark secret is
 * plain text in several of them.
 */
export function backendText(dir: string): string {
  const parts: string[] = [];
  const walk = (at: string) => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const bytes = readFileSync(path);
        const text = (entry.name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
        parts.push(`${path}\n${text}`);
      }
    }
  };
  walk(dir);
  return parts.join("\n");
}
