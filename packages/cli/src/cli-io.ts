import type { Transport } from "@connectrpc/connect";
import type { RetryOptions } from "@plinth/sdk";

/** Something text can be written to: `process.stdout`, or a test's collector. */
export interface TextSink {
  write(chunk: string): unknown;
}

/**
 * Everything the CLI touches outside itself, so that tests run it in-process
 * without spawning, sockets or the real environment.
 */
export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Environment: `PLINTH_URL`, `PLINTH_TOKEN`, `PLINTH_TOKEN_FILE`. */
  env: Record<string, string | undefined>;
  /** Read by `apply -f -`. */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Replaces the network transport (tests use `createRouterTransport`). */
  transport?: Transport;
  /** Retry options of the client; tests pass a `sleep` that does not wait. */
  retry?: RetryOptions | false;
}
