import type { CliIo } from "./cli-io.ts";

/**
 * Where a command's output goes. With `--json`, stdout holds exactly one JSON
 * document (the result) and everything else goes to stderr; without it,
 * results and progress are text on stdout. Errors always go to stderr.
 */
export interface Printer {
  readonly json: boolean;
  /** The command's result: `json` with `--json`, otherwise the text `human()` returns. */
  result(json: unknown, human: () => string): void;
  /** A line of live progress. */
  progress(line: string): void;
  /** A line for stderr. */
  error(line: string): void;
}

export function createPrinter(io: CliIo, json: boolean): Printer {
  return {
    json,
    result(value, human) {
      if (json) {
        io.stdout.write(`${JSON.stringify(value, bigintAsString, 2)}\n`);
      } else {
        io.stdout.write(human());
      }
    },
    progress(line) {
      (json ? io.stderr : io.stdout).write(`${line}\n`);
    },
    error(line) {
      io.stderr.write(`${line}\n`);
    },
  };
}

// int64 fields are bigint in protobuf-es; JSON has no such type, and proto3
// JSON writes them as strings, so plain values follow suit.
function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
