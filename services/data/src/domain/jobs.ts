import {
  UniqueViolationError,
  type JobEventRecord,
  type JobRecord,
  type NewJobRecord,
  type Store,
  type Tx,
} from '../store';
import { FailedPreconditionError, NotFoundError } from './errors';
import { createGroupCommit } from './group-commit';
import { newId, checkId } from './ids';
import type { JobSignals } from './job-signals';
import { canMove, TRANSITIONS, type JobState } from './job-state';
import type { JobTypeCache } from './job-type-cache';
import { JOB_TYPE_NAME, QUEUES, type QueueName } from './job-types';
import { readPagePosition, toPage, type Page } from './pagination';
import { Violations } from './violations';

export type JsonObject = Record<string, unknown>;

export interface Job {
  readonly id: string;
  readonly type: string;
  readonly state: JobState;
  readonly queue: QueueName;
  readonly payload: JsonObject;
  readonly result: JsonObject | null;
  readonly lastError: string;
  readonly attempt: number;
  readonly failedAttempts: number;
  readonly maxAttempts: number;
  readonly runAt: Date;
  readonly idempotencyKey: string;
  readonly progress: number;
  readonly progressMessage: string;
  readonly cancelRequested: boolean;
  readonly workerId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
}

export interface JobEvent {
  readonly id: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly fromState: JobState | null;
  readonly toState: JobState;
  readonly progress: number | null;
  readonly message: string;
  readonly workerId: string;
  readonly createdAt: Date;
}

export interface EnqueueInput {
  readonly type: string;
  readonly payload: JsonObject | undefined;
  readonly runAt: Date | undefined;
  readonly queue: QueueName | undefined;
  readonly idempotencyKey: string;
}

export interface JobLimits {
  readonly maxPayloadBytes: number;
}

export const MAX_BATCH = 500;
/** The most jobs one shared enqueue transaction inserts. */
const MAX_ROUND_JOBS = 2000;
const MAX_IDEMPOTENCY_KEY = 200;
const MAX_PAST_MS = 60_000;
const MAX_FUTURE_MS = 365 * 24 * 60 * 60 * 1000;
const EVENT_ID = /^\d{1,19}$/;

type PreparedJob = NewJobRecord;

/** The identity of an idempotent job: its type and key. */
function keyOf(job: { readonly type: string; readonly idempotencyKey: string | null }): string | undefined {
  return job.idempotencyKey === null ? undefined : `${job.type}\u0000${job.idempotencyKey}`;
}

export function toJob(record: JobRecord): Job {
  return {
    id: record.id,
    type: record.type,
    state: record.state as JobState,
    queue: record.queue as QueueName,
    payload: JSON.parse(record.payload) as JsonObject,
    result: record.result === null ? null : (JSON.parse(record.result) as JsonObject),
    lastError: record.lastError ?? '',
    attempt: record.attempt,
    failedAttempts: record.failedAttempts,
    maxAttempts: record.maxAttempts,
    runAt: record.runAt,
    idempotencyKey: record.idempotencyKey ?? '',
    progress: record.progress,
    progressMessage: record.progressMessage,
    cancelRequested: record.cancelRequested,
    workerId: record.workerId ?? '',
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
  };
}

export function toJobEvent(record: JobEventRecord): JobEvent {
  return {
    id: record.id,
    jobId: record.jobId,
    attempt: record.attempt,
    fromState: record.fromState as JobState | null,
    toState: record.toState as JobState,
    progress: record.progress,
    message: record.message,
    workerId: record.workerId ?? '',
    createdAt: record.createdAt,
  };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Size in bytes of the JSON text a value is stored as. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

function checkEnqueue(
  violations: Violations,
  input: EnqueueInput,
  prefix: string,
  now: number,
  limits: JobLimits,
): void {
  violations.check(JOB_TYPE_NAME.test(input.type), `${prefix}type`, 'must name a job type');
  const payload = input.payload ?? {};
  if (violations.check(isJsonObject(payload), `${prefix}payload`, 'must be a JSON object')) {
    violations.check(
      jsonBytes(payload) <= limits.maxPayloadBytes,
      `${prefix}payload`,
      `must be at most ${limits.maxPayloadBytes} bytes as JSON`,
    );
  }
  if (input.runAt) {
    const at = input.runAt.getTime();
    violations.check(
      Number.isFinite(at) && at >= now - MAX_PAST_MS && at <= now + MAX_FUTURE_MS,
      `${prefix}run_at`,
      'must be at most one minute in the past and one year in the future',
    );
  }
  violations.check(
    input.queue === undefined || QUEUES.includes(input.queue),
    `${prefix}queue`,
    'must be CRITICAL, DEFAULT or LOW',
  );
  violations.check(
    input.idempotencyKey.length <= MAX_IDEMPOTENCY_KEY && !/\p{Cc}/u.test(input.idempotencyKey),
    `${prefix}idempotency_key`,
    `must be at most ${MAX_IDEMPOTENCY_KEY} printable characters`,
  );
}

/** The rules of accepting, reading, cancelling and reviving jobs. */
export function createJobs(store: Store, signals: JobSignals, limits: JobLimits, types: JobTypeCache) {
  async function findOrThrow(id: string, tx?: Tx): Promise<JobRecord> {
    const record = await store.jobs.find(id, tx);
    if (!record) throw new NotFoundError('job', id);
    return record;
  }

  /**
   * Validates the inputs and resolves their types; throws INVALID_ARGUMENT naming each bad entry. Inside
   * a transaction every read goes through `tx`: a second connection per open transaction would exhaust
   * the pool under load.
   */
  async function prepare(
    inputs: readonly EnqueueInput[],
    prefixOf: (index: number) => string,
    tx?: Tx,
  ): Promise<PreparedJob[]> {
    const violations = new Violations();
    const now = Date.now();
    inputs.forEach((input, index) => {
      checkEnqueue(violations, input, prefixOf(index), now, limits);
    });
    violations.throwIfAny();
    const named = new Map(
      (await types.findMany([...new Set(inputs.map((input) => input.type))], tx)).map((type) => [type.name, type]),
    );
    inputs.forEach((input, index) => {
      violations.check(named.has(input.type), `${prefixOf(index)}type`, `unknown job type "${input.type}"`);
    });
    violations.throwIfAny();
    return inputs.map((input) => {
      const type = named.get(input.type);
      if (!type) throw new Error(`job type ${input.type} vanished`);
      return {
        id: newId(),
        type: input.type,
        queue: input.queue ?? type.queue,
        payload: JSON.stringify(input.payload ?? {}),
        maxAttempts: type.maxAttempts,
        runAt: input.runAt ?? new Date(now),
        idempotencyKey: input.idempotencyKey === '' ? null : input.idempotencyKey,
      };
    });
  }

  /**
   * Inserts prepared jobs in `tx`. A job whose type and idempotency key are already known (in the
   * database or earlier in the same batch) is not inserted: its entry answers with the first job.
   */
  async function insertWithin(tx: Tx, prepared: readonly PreparedJob[]): Promise<JobRecord[]> {
    const byKey = new Map<string, JobRecord>();
    const fresh: PreparedJob[] = [];
    for (const job of prepared) {
      const key = keyOf(job);
      if (key !== undefined && (byKey.has(key) || fresh.some((other) => keyOf(other) === key))) continue;
      const existing =
        job.idempotencyKey === null ? null : await store.jobs.findByIdempotencyKey(job.type, job.idempotencyKey, tx);
      if (existing && key !== undefined) byKey.set(key, existing);
      else fresh.push(job);
    }
    const inserted = await store.jobs.insert(
      tx,
      fresh,
      fresh.map((job) => ({
        jobId: job.id,
        attempt: 0,
        fromState: null,
        toState: 'pending',
        progress: null,
        message: 'accepted',
        workerId: null,
      })),
    );
    const byId = new Map(inserted.map((record) => [record.id, record]));
    for (const record of inserted) {
      const key = keyOf(record);
      if (key !== undefined) byKey.set(key, record);
    }
    return prepared.map((job) => {
      const record = byId.get(job.id) ?? byKey.get(keyOf(job) ?? '');
      if (!record) throw new Error(`job ${job.id} was neither inserted nor found`);
      return record;
    });
  }

  /**
   * Inserts prepared jobs in one transaction. Two concurrent transactions with one idempotency key
   * collide on the unique index; the loser reads the winner's job on its second pass.
   */
  async function insertAll(prepared: readonly PreparedJob[]): Promise<JobRecord[]> {
    for (let pass = 1; ; pass += 1) {
      try {
        return await store.inTransaction((tx) => insertWithin(tx, prepared));
      } catch (error) {
        if (!(error instanceof UniqueViolationError) || pass >= 3) throw error;
      }
    }
  }

  /**
   * Concurrent Enqueue and BatchEnqueue calls share transactions: one per call made 64 callers wait
   * on each other's commits (300 jobs/s on PostgreSQL here). Jobs with one idempotency key in two
   * calls of a round answer the same job, as within one call.
   */
  const insertInRounds = createGroupCommit(insertAll, { maxItems: MAX_ROUND_JOBS, keyOf: (job) => job.id });

  /** Accepts jobs: they are committed when it answers. */
  async function accept(inputs: readonly EnqueueInput[], prefixOf: (index: number) => string): Promise<Job[]> {
    const records = await insertInRounds(await prepare(inputs, prefixOf));
    signals.jobsDue();
    return records.map(toJob);
  }

  /**
   * For domain code that enqueues inside its own transaction (CreateUser's welcome e-mail). The job
   * commits with the caller's writes; the dispatcher finds it at its next round.
   */
  async function enqueueWithin(tx: Tx, input: EnqueueInput): Promise<Job> {
    const [record] = await insertWithin(tx, await prepare([input], () => '', tx));
    if (!record) throw new Error('enqueue inserted nothing');
    return toJob(record);
  }

  async function enqueue(input: EnqueueInput): Promise<Job> {
    const [job] = await accept([input], () => '');
    if (!job) throw new Error('enqueue accepted nothing');
    return job;
  }

  async function batchEnqueue(inputs: readonly EnqueueInput[]): Promise<Job[]> {
    const violations = new Violations();
    violations.check(inputs.length >= 1 && inputs.length <= MAX_BATCH, 'requests', `must hold 1 to ${MAX_BATCH} jobs`);
    violations.throwIfAny();
    return accept(inputs, (index) => `requests[${index}].`);
  }

  async function get(id: string): Promise<Job> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    return toJob(await findOrThrow(id));
  }

  async function list(query: {
    pageSize: number;
    pageToken: string;
    type: string;
    state: JobState | undefined;
  }): Promise<Page<Job>> {
    const violations = new Violations();
    violations.check(query.type === '' || JOB_TYPE_NAME.test(query.type), 'type', 'must name a job type');
    const filters = { type: query.type || undefined, state: query.state };
    const position = readPagePosition(violations, query.pageSize, query.pageToken, filters);
    violations.throwIfAny();
    const records = await store.jobs.list({ ...filters, beforeId: position.afterId, limit: position.limit + 1 });
    const page = toPage(records, position.limit, filters, (record) => record.id);
    return { items: page.items.map(toJob), nextPageToken: page.nextPageToken };
  }

  async function cancel(id: string): Promise<Job> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    await store.inTransaction(async (tx) => {
      const job = await findOrThrow(id, tx);
      const state = job.state as JobState;
      if (state === 'running') {
        if (job.cancelRequested) return;
        await store.jobs.patch(tx, id, { from: ['running'], attempt: job.attempt }, { cancelRequested: true });
        await store.jobs.addEvents(tx, [
          {
            jobId: id,
            attempt: job.attempt,
            fromState: 'running',
            toState: 'running',
            progress: null,
            message: 'cancellation requested',
            workerId: null,
          },
        ]);
        return;
      }
      if (!canMove('cancel', state)) {
        throw new FailedPreconditionError('JOB_FINISHED', `job ${id} is ${state} and cannot be cancelled`, {
          id,
          state,
        });
      }
      await store.jobs.move(tx, id, { from: [state] }, TRANSITIONS.cancel.to, { finishedAt: new Date() });
      await store.jobs.addEvents(tx, [
        {
          jobId: id,
          attempt: job.attempt,
          fromState: state,
          toState: 'cancelled',
          progress: null,
          message: 'cancelled',
          workerId: null,
        },
      ]);
    });
    signals.jobChanged(id);
    return get(id);
  }

  async function retry(id: string): Promise<Job> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    await store.inTransaction(async (tx) => {
      const job = await findOrThrow(id, tx);
      const state = job.state as JobState;
      if (!canMove('revive', state)) {
        throw new FailedPreconditionError(
          'JOB_NOT_RETRYABLE',
          `only dead or cancelled jobs can be retried; job ${id} is ${state}`,
          {
            id,
            state,
          },
        );
      }
      const type = await store.jobTypes.find(job.type, tx);
      await store.jobs.move(tx, id, { from: [state] }, TRANSITIONS.revive.to, {
        failedAttempts: 0,
        maxAttempts: type?.maxAttempts ?? job.maxAttempts,
        runAt: new Date(),
        cancelRequested: false,
        finishedAt: null,
        workerId: null,
      });
      await store.jobs.addEvents(tx, [
        {
          jobId: id,
          attempt: job.attempt,
          fromState: state,
          toState: 'pending',
          progress: null,
          message: 'retried',
          workerId: null,
        },
      ]);
    });
    signals.jobsDue();
    signals.jobChanged(id);
    return get(id);
  }

  async function count(type: string): Promise<Array<{ type: string; state: JobState; count: number }>> {
    const violations = new Violations();
    violations.check(type === '' || JOB_TYPE_NAME.test(type), 'type', 'must name a job type');
    violations.throwIfAny();
    const counts = await store.jobs.count(type || undefined);
    return counts.map((entry) => ({ ...entry, state: entry.state as JobState }));
  }

  async function listEvents(jobId: string, pageSize: number, pageToken: string): Promise<Page<JobEvent>> {
    const violations = new Violations();
    checkId(violations, jobId, 'job_id');
    const position = readPagePosition(violations, pageSize, pageToken, { jobId }, (cursor) => EVENT_ID.test(cursor));
    violations.throwIfAny();
    await findOrThrow(jobId);
    const records = await store.jobs.listEvents(jobId, position.afterId, position.limit + 1);
    const page = toPage(records, position.limit, { jobId }, (record) => record.id);
    return { items: page.items.map(toJobEvent), nextPageToken: page.nextPageToken };
  }

  /** Events after `afterId`, for WatchJob; throws NOT_FOUND for an unknown job. */
  async function eventsAfter(jobId: string, afterId: string | undefined): Promise<JobEvent[]> {
    if (afterId === undefined) {
      const violations = new Violations();
      checkId(violations, jobId, 'id');
      violations.throwIfAny();
      await findOrThrow(jobId);
    }
    return (await store.jobs.listEvents(jobId, afterId, 100)).map(toJobEvent);
  }

  return { enqueue, enqueueWithin, batchEnqueue, get, list, cancel, retry, count, listEvents, eventsAfter };
}

export type Jobs = ReturnType<typeof createJobs>;
