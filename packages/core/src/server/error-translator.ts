import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, BadRequest_FieldViolationSchema } from "@plinth/sdk/gen/google/rpc/error_details_pb.ts";
import { DomainError, FailedPreconditionError, InvalidArgumentError } from "../domain/errors.ts";
import { PluginFault } from "../domain/plugin-calls.ts";
import type { Violation } from "../plugin/define-plugin.ts";
import { isStoreFull, isStoreUnreachable } from "../store/store-unreachable.ts";

/** Every domain error kind has exactly one Connect code; a new kind without one does not compile. */
const codes: Record<DomainError["kind"], Code> = {
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "permission-denied": Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  "failed-precondition": Code.FailedPrecondition,
  aborted: Code.Aborted,
  "resource-exhausted": Code.ResourceExhausted,
  unavailable: Code.Unavailable,
};

function badRequest(violations: Violation[]) {
  return {
    desc: BadRequestSchema,
    value: create(BadRequestSchema, {
      fieldViolations: violations.map((v) =>
        create(BadRequest_FieldViolationSchema, { field: v.field, description: v.description, reason: v.reason ?? "" }),
      ),
    }),
  };
}

/**
 * The one translator from what went wrong to what the client sees. Client
 * mistakes get their precise code and field violations (google.rpc.BadRequest);
 * anything unexpected is INTERNAL with no internals leaked.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) {
    const violations =
      error instanceof InvalidArgumentError || error instanceof FailedPreconditionError ? error.violations : [];
    return new ConnectError(
      error.message,
      codes[error.kind],
      undefined,
      violations.length ? [badRequest(violations)] : [],
    );
  }
  if (error instanceof PluginFault) {
    return new ConnectError(error.message, Code.Internal);
  }
  if (isStoreFull(error)) {
    return new ConnectError(
      "the store's disk is full: nothing of this request was committed; free space, then retry with the same request id",
      Code.Unavailable,
    );
  }
  if (isStoreUnreachable(error)) {
    // Nothing was committed (every write is one transaction): the same request, retried, is safe.
    return new ConnectError(
      "the store cannot do this right now (unreachable or busy); retry with the same request id",
      Code.Unavailable,
    );
  }
  return new ConnectError("internal error; the server log has the details", Code.Internal);
}
