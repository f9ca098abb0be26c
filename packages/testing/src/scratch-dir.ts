import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A fresh directory for one fixture. Under a test run it lives in the run's
 * own directory (PLINTH_TEST_TMP, made by the global setup), which the global
 * teardown removes together with any process left running in it.
 */
export function scratchDir(prefix: string): string {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, `${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}
