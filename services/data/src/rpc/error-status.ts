import { Metadata, status as Code, type StatusObject } from '@grpc/grpc-js';
import { Any } from '../../../../proto/gen/google/protobuf/any';
import { BadRequest, ErrorInfo } from '../../../../proto/gen/google/rpc/error_details';
import { Status } from '../../../../proto/gen/google/rpc/status';
import {
  AbortedError,
  AlreadyExistsError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from '../domain/errors';

const ERROR_DOMAIN = 'tandem.v1';

const CODE_OF: ReadonlyArray<readonly [abstract new (...args: never[]) => DomainError, Code]> = [
  [InvalidArgumentError, Code.INVALID_ARGUMENT],
  [NotFoundError, Code.NOT_FOUND],
  [AlreadyExistsError, Code.ALREADY_EXISTS],
  [FailedPreconditionError, Code.FAILED_PRECONDITION],
  [AbortedError, Code.ABORTED],
  [UnauthenticatedError, Code.UNAUTHENTICATED],
  [PermissionDeniedError, Code.PERMISSION_DENIED],
  [UnavailableError, Code.UNAVAILABLE],
];

/** Errors of the database driver that mean "try again later", not "bug". */
const UNAVAILABLE_ERROR_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeTimeoutError',
]);

/**
 * PostgreSQL's SQLSTATEs for a transaction it aborted to break a deadlock or a serialization conflict:
 * the same call succeeds when retried.
 */
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001']);

/** The driver's code of a failed query (a SQLSTATE, or a socket error's errno name). */
function driverCodeOf(error: Error): string | undefined {
  if (error.name !== 'SequelizeDatabaseError') return undefined;
  const code = (error as { parent?: { code?: unknown } }).parent?.code;
  return typeof code === 'string' ? code : undefined;
}

function isTransientConflict(error: Error): boolean {
  const code = driverCodeOf(error);
  return code !== undefined && TRANSIENT_SQLSTATES.has(code);
}

/**
 * A query that lost its connection: the server closed it (a restart, pg_terminate_backend, SQLSTATE
 * class 08 or 57P01-57P03) or the socket broke under it. Sequelize reports these as a DatabaseError,
 * not a ConnectionError, when the connection came from the pool alive and died during the query.
 */
const CONNECTION_LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03']);

function isConnectionLost(error: Error): boolean {
  const code = driverCodeOf(error);
  return code !== undefined && (CONNECTION_LOST_CODES.has(code) || code.startsWith('08'));
}

export interface MappedError {
  readonly status: Partial<StatusObject> & { code: Code; details: string };
  /** True when the error is a bug: the caller logs it with its stack. */
  readonly unexpected: boolean;
}

function pack(typeName: string, value: Uint8Array): Any {
  return Any.fromPartial({ typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) });
}

function statusMessage(
  code: Code,
  message: string,
  reason: string,
  metadata: Record<string, string>,
  badRequest?: BadRequest,
): Status {
  const details = [
    pack(
      'google.rpc.ErrorInfo',
      ErrorInfo.encode(ErrorInfo.fromPartial({ reason, domain: ERROR_DOMAIN, metadata })).finish(),
    ),
  ];
  if (badRequest) details.push(pack('google.rpc.BadRequest', BadRequest.encode(badRequest).finish()));
  return Status.fromPartial({ code, message, details });
}

function richStatus(
  code: Code,
  message: string,
  reason: string,
  metadata: Record<string, string>,
  badRequest?: BadRequest,
): MappedError['status'] {
  const trailer = new Metadata();
  const status = statusMessage(code, message, reason, metadata, badRequest);
  trailer.set('grpc-status-details-bin', Buffer.from(Status.encode(status).finish()));
  return { code, details: message, metadata: trailer };
}

function codeOf(error: DomainError): Code {
  return CODE_OF.find(([type]) => error instanceof type)?.[1] ?? Code.INTERNAL;
}

function badRequestOf(error: DomainError): BadRequest | undefined {
  return error instanceof InvalidArgumentError
    ? BadRequest.fromPartial({
        fieldViolations: error.violations.map((v) => ({ field: v.field, description: v.description })),
      })
    : undefined;
}

/** A domain error as google.rpc.Status: its code, message, ErrorInfo and, if any, BadRequest. */
export function toStatusMessage(error: DomainError): Status {
  return statusMessage(codeOf(error), error.message, error.reason, { ...error.metadata }, badRequestOf(error));
}

/**
 * Turns any thrown value into a gRPC status with google.rpc details (AIP-193): an ErrorInfo always,
 * a BadRequest listing every field violation for INVALID_ARGUMENT. Unknown errors become INTERNAL
 * with a message that leaks nothing.
 */
export function toGrpcStatus(error: unknown, requestId: string): MappedError {
  if (error instanceof DomainError) {
    return {
      status: richStatus(codeOf(error), error.message, error.reason, { ...error.metadata }, badRequestOf(error)),
      unexpected: false,
    };
  }
  if (error instanceof Error && (UNAVAILABLE_ERROR_NAMES.has(error.name) || isConnectionLost(error))) {
    return {
      status: richStatus(
        Code.UNAVAILABLE,
        'the database is unavailable; retry with backoff',
        'DATABASE_UNAVAILABLE',
        {},
      ),
      unexpected: false,
    };
  }
  if (error instanceof Error && isTransientConflict(error)) {
    return {
      status: richStatus(
        Code.UNAVAILABLE,
        'the database aborted the transaction to resolve a conflict; retry with backoff',
        'DATABASE_CONFLICT',
        {},
      ),
      unexpected: false,
    };
  }
  return {
    status: richStatus(Code.INTERNAL, `internal error (request id ${requestId})`, 'INTERNAL', { requestId }),
    unexpected: true,
  };
}
