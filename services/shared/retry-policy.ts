import { status as Code } from '@grpc/grpc-js';

/** Codes worth retrying with backoff: the server is away, overloaded or lost a race. */
export const TRANSIENT_CODES: ReadonlySet<Code> = new Set([
  Code.UNAVAILABLE,
  Code.DEADLINE_EXCEEDED,
  Code.RESOURCE_EXHAUSTED,
  Code.ABORTED,
]);

/**
 * For WorkerService reports ABORTED is final: it means the attempt is no longer current, and retrying
 * can never make it current again.
 */
export const REPORT_RETRY_CODES: ReadonlySet<Code> = new Set([
  Code.UNAVAILABLE,
  Code.DEADLINE_EXCEEDED,
  Code.RESOURCE_EXHAUSTED,
]);

export function isCode(value: number): value is Code {
  return value in Code;
}

/** The gRPC status code of a failed call, if the error is one. */
export function codeOf(error: unknown): Code | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && isCode(code) ? code : undefined;
}

export interface RetryOptions {
  readonly codes: ReadonlySet<Code>;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** Stops retrying: the last error is thrown. */
  readonly signal?: AbortSignal;
  readonly onRetry?: (error: unknown, delayMs: number) => void;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/** Calls `call` until it succeeds or fails with a code outside `codes`, backing off with full jitter. */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const code = codeOf(error);
      if (code === undefined || !options.codes.has(code) || options.signal?.aborted) throw error;
      const ceiling = Math.min(options.maxDelayMs, options.firstDelayMs * 2 ** attempt);
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      options.onRetry?.(error, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}
