import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
export const plinthBin = join(import.meta.dirname, "../../../cli/bin/plinth.js");

/** Runs the real `plinth` executable against `url` with `token`; never throws on a failing exit. */
export async function runPlinthCli(
  url: string,
  token: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [plinthBin, ...args], {
      env: { ...process.env, PLINTH_URL: url, PLINTH_TOKEN: token },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
