export interface FieldViolation {
  /** The request field in snake_case proto path form, such as `user.email`. */
  readonly field: string;
  readonly description: string;
}

/** The base of every error the domain throws on purpose; `reason` is a stable UPPER_SNAKE_CASE code. */
export abstract class DomainError extends Error {
  abstract readonly reason: string;
  constructor(
    message: string,
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export class InvalidArgumentError extends DomainError {
  override readonly name = 'InvalidArgumentError';
  readonly reason = 'INVALID_ARGUMENT';
  constructor(readonly violations: readonly FieldViolation[]) {
    super(violations.map((violation) => `${violation.field}: ${violation.description}`).join('; '));
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  readonly reason = 'NOT_FOUND';
  constructor(resource: string, id: string) {
    super(`${resource} ${id} not found`, { resource, id });
  }
}

export class AlreadyExistsError extends DomainError {
  override readonly name = 'AlreadyExistsError';
  readonly reason = 'ALREADY_EXISTS';
  constructor(resource: string, field: string) {
    super(`a live ${resource} with this ${field} already exists`, { resource, field });
  }
}

export class FailedPreconditionError extends DomainError {
  override readonly name = 'FailedPreconditionError';
  constructor(
    readonly reason: string,
    message: string,
    metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message, metadata);
  }
}

export class AbortedError extends DomainError {
  override readonly name = 'AbortedError';
  constructor(
    readonly reason: string,
    message: string,
    metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message, metadata);
  }
}

export class UnauthenticatedError extends DomainError {
  override readonly name = 'UnauthenticatedError';
  readonly reason = 'UNAUTHENTICATED';
}

export class PermissionDeniedError extends DomainError {
  override readonly name = 'PermissionDeniedError';
  readonly reason = 'PERMISSION_DENIED';
}

export class UnavailableError extends DomainError {
  override readonly name = 'UnavailableError';
  readonly reason = 'UNAVAILABLE';
}
