import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Metadata,
  status as Code,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from '../../../shared/logger';
import type { Authorize, Caller } from './auth';
import { toGrpcStatus } from './error-status';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  readonly requestId: string;
  readonly caller: Caller;
  readonly log: Logger;
  /** Aborted when the client cancels the call or the server shuts down. */
  readonly signal: AbortSignal;
}

export type AsyncUnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** A server-streaming handler: `send` writes one message; the stream ends when the promise settles. */
export type AsyncStreamHandler<Req, Res> = (
  request: Req,
  context: CallContext,
  send: (message: Res) => void,
) => Promise<void>;

/** A service implementation written as async functions instead of grpc-js callbacks. */
export type AsyncImplementation<S> = {
  [K in keyof S as string extends K ? never : K]: S[K] extends handleUnaryCall<infer Req, infer Res>
    ? AsyncUnaryHandler<Req, Res>
    : S[K] extends handleServerStreamingCall<infer Req, infer Res>
      ? AsyncStreamHandler<Req, Res>
      : never;
};

/** The parts of a generated service definition the adapter reads. */
type ServiceDefinitionPaths<S> = {
  readonly [K in keyof AsyncImplementation<S>]: { readonly path: string; readonly responseStream: boolean };
};

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

const REQUEST_ID = /^[\w.:-]{1,64}$/;

function requestIdOf(metadata: Metadata): string {
  const sent = metadata.get('x-request-id')[0];
  return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** A call's AbortSignal, aborted when the client cancels or the server shuts down. */
interface Cancellation {
  readonly signal: AbortSignal;
  readonly abort: () => void;
}

/** The signal is made on first use: only streaming handlers read it, so unary calls never pay for it. */
function createCancellation(): Cancellation {
  let aborted = false;
  let controller: AbortController | undefined;
  return {
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (aborted) controller.abort();
      }
      return controller.signal;
    },
    abort: () => {
      aborted = true;
      controller?.abort();
    },
  };
}

function levelOf(code: Code): 'info' | 'warn' | 'error' {
  if (code === Code.INTERNAL || code === Code.UNKNOWN) return 'error';
  return code === Code.UNAVAILABLE || code === Code.DEADLINE_EXCEEDED ? 'warn' : 'info';
}

/**
 * The one place that speaks grpc-js callbacks: it authorizes the call, runs the async handler, maps
 * any error to a status with details, and writes one log line per call (method, code, duration, request
 * id; never the payload).
 */
export function createServiceAdapter(logger: Logger, authorize: Authorize, shutdown: AbortSignal) {
  // The calls in flight: one shutdown listener for all of them, rather than one added and removed per
  // call (EventTarget listeners are slow to add, and Node warns past 10 on one signal).
  const inFlight = new Set<Cancellation>();
  shutdown.addEventListener(
    'abort',
    () => {
      for (const cancellation of inFlight) cancellation.abort();
    },
    { once: true },
  );

  /** Runs one call: authorize, invoke, map errors, log. `finish` answers the client. */
  async function handle(
    path: string,
    call: AnyCall,
    invoke: (context: CallContext) => Promise<void>,
    fail: (status: ReturnType<typeof toGrpcStatus>['status']) => void,
  ): Promise<void> {
    const started = performance.now();
    const requestId = requestIdOf(call.metadata);
    const header = new Metadata();
    header.set('x-request-id', requestId);
    call.sendMetadata(header);
    // Both listeners go when the call ends: grpc-js also emits 'cancelled' after a call has ended.
    const cancellation = createCancellation();
    call.on('cancelled', cancellation.abort);
    inFlight.add(cancellation);
    if (shutdown.aborted) cancellation.abort();
    let code: Code = Code.OK;
    let caller: Caller = 'anonymous';
    try {
      caller = authorize(path, call.metadata);
      let log: Logger | undefined;
      const context: CallContext = {
        requestId,
        caller,
        // Most handlers never log: the child logger is made on first use.
        get log() {
          return (log ??= logger.child({ requestId, method: path }));
        },
        get signal() {
          return cancellation.signal;
        },
      };
      await invoke(context);
    } catch (error) {
      const { status, unexpected } = toGrpcStatus(error, requestId);
      if (unexpected) logger.error({ err: error, requestId, method: path }, 'unexpected error while handling a call');
      code = status.code;
      fail(status);
    } finally {
      inFlight.delete(cancellation);
      call.removeListener('cancelled', cancellation.abort);
    }
    const level = levelOf(code);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        requestId,
        method: path,
        code: Code[code],
        caller,
        durationMs: Number((performance.now() - started).toFixed(2)),
      },
      'call',
    );
  }

  function unary(path: string, handler: AsyncUnaryHandler<unknown, unknown>): handleUnaryCall<unknown, unknown> {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      void handle(
        path,
        call,
        async (context) => {
          callback(null, await handler(call.request, context));
        },
        (status) => {
          callback(status);
        },
      );
    };
  }

  function serverStream(
    path: string,
    handler: AsyncStreamHandler<unknown, unknown>,
  ): handleServerStreamingCall<unknown, unknown> {
    return (call: ServerWritableStream<unknown, unknown>) => {
      void handle(
        path,
        call,
        async (context) => {
          await handler(call.request, context, (message) => {
            call.write(message);
          });
          call.end();
        },
        (status) => {
          call.emit('error', status);
        },
      );
    };
  }

  return function adapt<S extends UntypedServiceImplementation>(
    definition: ServiceDefinitionPaths<S>,
    handlers: AsyncImplementation<S>,
  ): S {
    const implementation: UntypedServiceImplementation = {};
    for (const key of Object.keys(handlers) as Array<keyof AsyncImplementation<S> & string>) {
      const { path, responseStream } = definition[key];
      implementation[key] = responseStream
        ? serverStream(path, handlers[key] as AsyncStreamHandler<unknown, unknown>)
        : unary(path, handlers[key] as AsyncUnaryHandler<unknown, unknown>);
    }
    return implementation as S;
  };
}

export type ServiceAdapter = ReturnType<typeof createServiceAdapter>;
