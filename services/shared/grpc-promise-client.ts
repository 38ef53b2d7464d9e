import { Metadata, type CallOptions, type Client, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

type AsPromise<F> =
  F extends UnaryMethod<infer Req, infer Res> ? (request: Req, metadata?: Metadata) => Promise<Res> : never;

/** Every unary method of a generated grpc-js client, as `(request, metadata?) => Promise<response>`. */
export type PromiseClient<C> = { [K in keyof C as AsPromise<C[K]> extends never ? never : K]: AsPromise<C[K]> };

export interface PromiseClientOptions {
  /** Every call gets this deadline: no outbound call waits forever. */
  readonly deadlineMs: number;
  /** Sent with every call (such as the bearer token), merged under the call's own metadata. */
  readonly metadata?: Metadata;
}

export function promiseClient<C extends Client>(client: C, options: PromiseClientOptions): PromiseClient<C> {
  return new Proxy({} as PromiseClient<C>, {
    get(_target, name: string) {
      const method = (client as unknown as Record<string, UnaryMethod<unknown, unknown> | undefined>)[name];
      if (typeof method !== 'function') return undefined;
      return (request: unknown, metadata = new Metadata()) =>
        new Promise((resolve, reject) => {
          const merged = options.metadata?.clone() ?? new Metadata();
          merged.merge(metadata);
          method.call(client, request, merged, { deadline: Date.now() + options.deadlineMs }, (error, response) =>
            error ? reject(error) : resolve(response),
          );
        });
    },
  });
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  if (token !== '') metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}
