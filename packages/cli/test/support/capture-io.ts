import { Readable } from "node:stream";
import type { CliIo } from "../../src/index.ts";
import type { FakePlinth } from "../../../sdk/test/support/fake-plinth.ts";

/** A `CliIo` wired to a fake server, collecting what the CLI prints. */
export function captureIo(
  fake: FakePlinth,
  options: { env?: Record<string, string>; stdin?: string } = {},
): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (chunk: string) => (out += chunk) },
    stderr: { write: (chunk: string) => (err += chunk) },
    env: { PLINTH_TOKEN: "requester-token", ...options.env },
    stdin: options.stdin === undefined ? undefined : Readable.from([options.stdin]),
    transport: fake.transport,
    // Retries happen, but without waiting.
    retry: { sleep: async () => {} },
    out: () => out,
    err: () => err,
  };
}
