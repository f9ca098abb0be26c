import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.ts";

/**
 * One bad field of a request: its path (e.g. `spec.partitions`), what is
 * allowed, and the stable machine reason the docs list (e.g.
 * `UNKNOWN_CLUSTER`; empty when the server gave none).
 */
export interface FieldViolation {
  field: string;
  description: string;
  reason: string;
}

/**
 * The field violations carried by an INVALID_ARGUMENT error as
 * `google.rpc.BadRequest` details, in the order the server sent them; empty
 * for any other error, including values that are not a ConnectError.
 */
export function fieldViolations(error: unknown): FieldViolation[] {
  if (!(error instanceof ConnectError)) {
    return [];
  }
  return error
    .findDetails(BadRequestSchema)
    .flatMap((badRequest) => badRequest.fieldViolations)
    .map(({ field, description, reason }) => ({ field, description, reason }));
}
