import {
  credentials,
  Metadata,
  status as Code,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { BadRequest, ErrorInfo } from '../../proto/gen/google/rpc/error_details';
import { Status } from '../../proto/gen/google/rpc/status';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

type AsPromise<F> =
  F extends UnaryMethod<infer Req, infer Res> ? (request: Req, metadata?: Metadata) => Promise<Res> : never;

/** Every unary method of a generated client, as `(request, metadata?) => Promise<response>`. */
export type PromiseClient<C> = { [K in keyof C as AsPromise<C[K]> extends never ? never : K]: AsPromise<C[K]> };

const CALL_DEADLINE_MS = 15_000;

export function promiseClient<C extends Client>(client: C): PromiseClient<C> {
  return new Proxy({} as PromiseClient<C>, {
    get(_target, name: string) {
      const method = (client as unknown as Record<string, UnaryMethod<unknown, unknown>>)[name];
      if (typeof method !== 'function') return undefined;
      return (request: unknown, metadata = new Metadata()) =>
        new Promise((resolve, reject) => {
          method.call(client, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) =>
            error ? reject(error) : resolve(response),
          );
        });
    },
  });
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
