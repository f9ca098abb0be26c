import { Code, ConnectError } from "@connectrpc/connect";
import { UsageError } from "./usage-error.ts";

/** The exit codes of `plinth`; scripts may rely on them. */
export const ExitCode = {
  Ok: 0,
  /** With `--wait` or `watch`: the change failed, was rejected or was cancelled. */
  ChangeNotSucceeded: 1,
  Usage: 2,
  NotFound: 3,
  InvalidArgument: 4,
  PermissionDenied: 5,
  Conflict: 6,
  Unavailable: 7,
  Other: 10,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit codes of `plinth plan`, as `terraform plan -detailed-exitcode`'s,
 * so a pipeline can tell "nothing to do" from "changes" from "broken".
 */
export const PlanExitCode = {
  NoChanges: 0,
  /** Any error: usage, bad manifests, refused specs, an unreachable server. */
  Error: 1,
  Changes: 2,
} as const satisfies Record<string, ExitCode>;

// Exhaustive: a new Code without a mapping does not compile.
const exitCodeByConnectCode: Record<Code, ExitCode> = {
  [Code.Canceled]: ExitCode.Other,
  [Code.Unknown]: ExitCode.Other,
  [Code.InvalidArgument]: ExitCode.InvalidArgument,
  [Code.DeadlineExceeded]: ExitCode.Unavailable,
  [Code.NotFound]: ExitCode.NotFound,
  [Code.AlreadyExists]: ExitCode.Conflict,
  [Code.PermissionDenied]: ExitCode.PermissionDenied,
  [Code.ResourceExhausted]: ExitCode.Other,
  [Code.FailedPrecondition]: ExitCode.Conflict,
  [Code.Aborted]: ExitCode.Conflict,
  [Code.OutOfRange]: ExitCode.InvalidArgument,
  [Code.Unimplemented]: ExitCode.Other,
  [Code.Internal]: ExitCode.Other,
  [Code.Unavailable]: ExitCode.Unavailable,
  [Code.DataLoss]: ExitCode.Other,
  [Code.Unauthenticated]: ExitCode.PermissionDenied,
};

/** The exit code for an error that ended a command. */
export function exitCodeForError(error: unknown): ExitCode {
  if (error instanceof UsageError) {
    return ExitCode.Usage;
  }
  if (error instanceof ConnectError) {
    return exitCodeByConnectCode[error.code];
  }
  return ExitCode.Other;
}

/** The help epilog that documents {@link ExitCode}. */
export const exitCodesHelp = `
Environment:
  PLINTH_URL      server URL, or several separated by commas (default http://127.0.0.1:8080); --url overrides it
  PLINTH_CA_FILE  PEM file of the CA that signed the server's certificate; --ca-file overrides it
  PLINTH_TOKEN    bearer token; --token overrides it

Exit codes:
  0   ok
  1   the change failed, was rejected or was cancelled (with --wait, or watch)
  2   usage error
  3   not found
  4   invalid argument (each field violation is printed as "field: description")
  5   permission denied or unauthenticated
  6   conflict: already exists, aborted (revision mismatch) or failed precondition
  7   server unavailable (after retries) or deadline exceeded
  10  any other error

  plinth plan exits like terraform plan -detailed-exitcode instead:
  0   no changes
  1   any error
  2   changes
`;
