import type { Violation } from "../plugin/define-plugin.ts";

/**
 * Domain errors. The server maps each class to one Connect code in a single
 * exhaustive table (server/error-translator.ts); retry decisions look at
 * classes, never at message text.
 */
export abstract class DomainError extends Error {
  abstract readonly kind:
    | "invalid-argument"
    | "not-found"
    | "already-exists"
    | "permission-denied"
    | "unauthenticated"
    | "failed-precondition"
    | "aborted"
    | "resource-exhausted"
    | "unavailable";
}

/** Bad input: every problem with its field path and what is allowed. Nothing was written. */
export class InvalidArgumentError extends DomainError {
  readonly kind = "invalid-argument";
  override name = "InvalidArgumentError";
  readonly violations: Violation[];
  constructor(violations: Violation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
    this.violations = violations;
  }
}

export class NotFoundError extends DomainError {
  readonly kind = "not-found";
  override name = "NotFoundError";
}

export class AlreadyExistsError extends DomainError {
  readonly kind = "already-exists";
  override name = "AlreadyExistsError";
}

export class PermissionDeniedError extends DomainError {
  readonly kind = "permission-denied";
  override name = "PermissionDeniedError";
}

export class UnauthenticatedError extends DomainError {
  readonly kind = "unauthenticated";
  override name = "UnauthenticatedError";
}

/** The request is valid but the system is not in a state that allows it (e.g. an illegal transition). */
export class FailedPreconditionError extends DomainError {
  readonly kind = "failed-precondition";
  override name = "FailedPreconditionError";
  readonly violations: Violation[];
  constructor(message: string, violations: Violation[] = []) {
    super(message);
    this.violations = violations;
  }
}

/** An optimistic-concurrency check failed (expected_revision); re-read and retry. */
export class AbortedError extends DomainError {
  readonly kind = "aborted";
  override name = "AbortedError";
}

export class ResourceExhaustedError extends DomainError {
  readonly kind = "resource-exhausted";
  override name = "ResourceExhaustedError";
}

/**
 * Something the decision depends on cannot answer now (e.g. the check for an
 * unmanaged twin before a create). Nothing was recorded: the same request,
 * with the same request_id, can be sent again; the SDK retries it by itself.
 */
export class UnavailableError extends DomainError {
  readonly kind = "unavailable";
  override name = "UnavailableError";
}
