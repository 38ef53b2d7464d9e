import type { z } from 'zod';
import type { Logger } from '../../shared/logger';
import type { DataServiceClient } from './data-service-client';

/** What a handler gets for one attempt of one job. */
export interface JobContext<Payload> {
  readonly payload: Payload;
  readonly jobId: string;
  /** The attempt number: with jobId, a key that makes side effects idempotent across retries. */
  readonly attempt: number;
  /** Aborted on timeout, on cancellation and on shutdown: stop promptly when it fires. */
  readonly signal: AbortSignal;
  /** Reports progress (0 to 100) and a message; also tells the data service the worker is alive. */
  readonly progress: (percent: number, message?: string) => Promise<void>;
  readonly log: Logger;
  /** A typed client of the data service, for handlers that need data. */
  readonly data: DataServiceClient;
}

/** A handler of one job type: its payload schema and what it does. Its return value is the job's result. */
export interface JobHandler<Schema extends z.ZodTypeAny = z.ZodTypeAny> {
  readonly type: string;
  readonly payload: Schema;
  run(context: JobContext<z.infer<Schema>>): Promise<Record<string, unknown>>;
}

/** Thrown by a handler when retrying cannot help (bad input, a permanent refusal): the job dies at once. */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
}

export function defineJobHandler<Schema extends z.ZodTypeAny>(handler: JobHandler<Schema>): JobHandler<Schema> {
  return handler;
}
