import { credentials, Metadata, status as Code, type Client, type ServiceError } from '@grpc/grpc-js';
import { BadRequest, ErrorInfo } from '../../proto/gen/google/rpc/error_details';
import { Status } from '../../proto/gen/google/rpc/status';
import { promiseClient as makePromiseClient, type PromiseClient } from '../../services/shared/grpc-promise-client';

const CALL_DEADLINE_MS = 15_000;

export type { PromiseClient } from '../../services/shared/grpc-promise-client';

/** A promise client with a test-sized deadline on every call. */
export function promiseClient<C extends Client>(client: C): PromiseClient<C> {
  return makePromiseClient(client, { deadlineMs: CALL_DEADLINE_MS });
}

export function connect<C extends Client>(
  Constructor: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => C,
  address: string,
): C {
  return new Constructor(address, credentials.createInsecure());
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** The google.rpc details a Tandem error carries in `grpc-status-details-bin`. */
export interface ErrorDetails {
  readonly errorInfo: ErrorInfo | undefined;
  readonly fieldViolations: ReadonlyArray<{ field: string; description: string }>;
}

export function detailsOf(error: ServiceError): ErrorDetails {
  const raw = error.metadata.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return { errorInfo: undefined, fieldViolations: [] };
  const status = Status.decode(raw);
  let errorInfo: ErrorInfo | undefined;
  const fieldViolations: Array<{ field: string; description: string }> = [];
  for (const detail of status.details) {
    if (detail.typeUrl.endsWith('/google.rpc.ErrorInfo')) errorInfo = ErrorInfo.decode(detail.value);
    if (detail.typeUrl.endsWith('/google.rpc.BadRequest'))
      fieldViolations.push(...BadRequest.decode(detail.value).fieldViolations);
  }
  return { errorInfo, fieldViolations };
}

/** Awaits a call that must fail with `code`; answers the error for further checks. */
export async function expectCode(call: Promise<unknown>, code: Code): Promise<ServiceError> {
  let failure: ServiceError | undefined;
  try {
    await call;
  } catch (error) {
    failure = error as ServiceError;
  }
  if (!failure) throw new Error(`expected ${Code[code]}, but the call succeeded`);
  if (failure.code !== code) {
    throw new Error(`expected ${Code[code]}, got ${Code[failure.code]}: ${failure.details}`);
  }
  return failure;
}

/** The fields named by the BadRequest of an INVALID_ARGUMENT error. */
export async function expectInvalid(call: Promise<unknown>): Promise<string[]> {
  const error = await expectCode(call, Code.INVALID_ARGUMENT);
  return detailsOf(error).fieldViolations.map((violation) => violation.field);
}
