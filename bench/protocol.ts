/** Messages between the bench (bench/run.ts) and the processes it drives over their IPC channel. */

export type CrudMethod = 'GetUser' | 'ListUsers' | 'CreateOrder';

/** Calls one method with `inFlight` calls outstanding at all times (a closed loop) for a fixed time. */
export interface CrudCommand {
  readonly kind: 'crud';
  readonly address: string;
  readonly method: CrudMethod;
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Users to read and to place orders for, picked at random. */
  readonly userIds: readonly string[];
}

export interface CrudResult {
  readonly kind: 'crud';
  /** Calls completed inside the measured window (after the warm-up). */
  readonly calls: number;
  readonly errors: number;
  readonly firstError: string;
  readonly windowMs: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Enqueues `jobs` no-op jobs as fast as it can: one per Enqueue call, or `batchSize` per BatchEnqueue. */
export interface EnqueueCommand {
  readonly kind: 'enqueue';
  readonly address: string;
  readonly jobType: string;
  readonly jobs: number;
  readonly batchSize: number;
  readonly inFlight: number;
  /** No call starts after this long: the run is cut short. */
  readonly maxDurationMs: number;
}

/** Enqueues at a steady rate for a fixed time, `batchSize` jobs per call (1 uses Enqueue). */
export interface PacedCommand {
  readonly kind: 'paced';
  readonly address: string;
  readonly jobType: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly batchSize: number;
}

export interface EnqueueResult {
  readonly kind: 'enqueue';
  /** Date.now() just before the first call left. */
  readonly startedAt: number;
  /** Date.now() when the last call was answered. */
  readonly endedAt: number;
  readonly accepted: number;
  readonly errors: number;
  readonly firstError: string;
}

export type LoadCommand = CrudCommand | EnqueueCommand | PacedCommand;
export type LoadResult = CrudResult | EnqueueResult;

/** A command as sent, with the id its answer carries back. */
export interface Request<C> {
  readonly id: number;
  readonly command: C;
}

export type Reply<R> = { readonly id: number; readonly ok: true; readonly result: R } | ErrorReply;

export interface ErrorReply {
  readonly id: number;
  readonly ok: false;
  readonly error: string;
}

/** Sent once by a child when it is ready to take work. */
export interface ReadyMessage {
  readonly type: 'ready';
  /** The port a server child listens on. */
  readonly port?: number;
}

/** Sent by a bare bee-queue worker: how many jobs it finished so far, and when the last one finished. */
export interface ProgressMessage {
  readonly type: 'progress';
  readonly done: number;
  readonly lastDoneAt: number;
}

/** The command a bare bee-queue producer runs. */
export interface ProduceCommand {
  readonly kind: 'produce';
  readonly jobs: number;
  readonly batchSize: number;
  readonly inFlight: number;
  /** No batch starts after this long. */
  readonly maxDurationMs: number;
}

export interface ProduceResult {
  readonly kind: 'produce';
  readonly startedAt: number;
  readonly endedAt: number;
  readonly saved: number;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A command of one of `kinds`, as far as its `kind` tells. */
export function isCommandOf<C extends { readonly kind: string }>(kinds: ReadonlyArray<C['kind']>) {
  return (value: unknown): value is C => isObject(value) && kinds.includes(value['kind'] as C['kind']);
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * The child side of the request/answer protocol: runs `handle` for every request whose command `isCommand`
 * accepts, answers with its id, and exits when the bench goes away.
 */
export function serveRequests<C, R>(
  isCommand: (value: unknown) => value is C,
  handle: (command: C) => Promise<R>,
): void {
  process.on('message', (message: unknown) => {
    if (!isObject(message) || typeof message['id'] !== 'number') return;
    const { id } = message;
    const command = message['command'];
    const answer = isCommand(command) ? handle(command) : Promise.reject(new Error('not a command'));
    answer.then(
      (result) => process.send?.({ id, ok: true, result } satisfies Reply<R>),
      (error: unknown) => process.send?.({ id, ok: false, error: errorText(error) } satisfies Reply<R>),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
