import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@plinth/sdk/gen/google/rpc/error_details_pb.ts";

/** An API failure in words a person can act on; the server's own message is kept as the detail. */
export function describeError(error: unknown): string {
  if (error instanceof DOMException && error.name === "AbortError") return "The request was cancelled.";
  const err = ConnectError.from(error);
  const detail = err.rawMessage;
  switch (err.code) {
    case Code.Unauthenticated:
      return "The token was not accepted (unknown or revoked): sign in again with a valid token.";
    case Code.PermissionDenied:
      return `You are not allowed to do this: ${detail}.`;
    case Code.NotFound:
      return `Not found: ${detail}.`;
    case Code.InvalidArgument: {
      const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
      const list = fields.map((f) => `${f.field} ${f.description}`).join("; ");
      return `The request was not accepted: ${list || detail}.`;
    }
    case Code.FailedPrecondition:
      return `This cannot be done now: ${detail}.`;
    case Code.Aborted:
      return `Someone changed this at the same time: reload the page and try again (${detail}).`;
    case Code.AlreadyExists:
      return `That already exists: ${detail}.`;
    case Code.ResourceExhausted:
      return `The server is busy or the request is too large: ${detail}.`;
    case Code.Unavailable:
      return "The Plinth server cannot be reached right now. Check your connection and try again.";
    case Code.DeadlineExceeded:
      return "The server took too long to answer. Try again in a moment.";
    case Code.Canceled:
      return "The request was cancelled.";
    case Code.Unimplemented:
      return "This server does not offer that action (is it an older version?).";
    default:
      return `The server failed to do this (${detail || "no details"}). If it keeps happening, tell the platform team.`;
  }
}
