import type { JobChanges, JobRecord, Store, Tx } from '../store';
import { AbortedError, FailedPreconditionError, NotFoundError } from './errors';
import { checkId } from './ids';
import { decideFailure } from './job-failure';
import type { JobSignals } from './job-signals';
import { isTerminal, TRANSITIONS, type JobState } from './job-state';
import { toJobType } from './job-types';
import { isJsonObject, jsonBytes, toJob, type Job, type JsonObject } from './jobs';
import { Violations } from './violations';

export interface LeaseSettings {
  /** Added to the type's timeout: how long a silent worker keeps its attempt. */
  readonly leaseGraceMs: number;
  readonly maxResultBytes: number;
}

export interface StartedAttempt {
  readonly job: Job;
  readonly timeoutMs: number;
  readonly heartbeatMs: number;
}

export interface Failure {
  readonly error: string;
  readonly retryable: boolean;
  readonly released: boolean;
}

const MAX_ERROR_LENGTH = 2000;
const MAX_PROGRESS_MESSAGE = 500;
const MAX_WORKER_ID = 128;

/** How often a worker must report so that its lease (timeout + grace) never lapses while it runs. */
function heartbeatOf(timeoutMs: number, graceMs: number): number {
  return Math.max(100, Math.min(10_000, Math.floor((timeoutMs + graceMs) / 4)));
}

/**
 * Free text as both databases can store it: neither SQLite (the statement is cut short) nor
 * PostgreSQL text takes a NUL character, so it becomes U+FFFD.
 */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD');
}

function checkReport(jobId: string, attempt: number, workerId: string): void {
  const violations = new Violations();
  checkId(violations, jobId, 'job_id');
  violations.check(Number.isInteger(attempt) && attempt >= 1, 'attempt', 'must be 1 or more');
  violations.check(
    workerId.length >= 1 && workerId.length <= MAX_WORKER_ID && !/\p{Cc}/u.test(workerId),
    'worker_id',
    `must be 1 to ${MAX_WORKER_ID} printable characters`,
  );
  violations.throwIfAny();
}

function stale(job: JobRecord, attempt: number): AbortedError {
  return new AbortedError(
    'STALE_ATTEMPT',
    `attempt ${attempt} of job ${job.id} is no longer current (the job is ${job.state} at attempt ${job.attempt})`,
    { jobId: job.id, attempt: String(attempt), currentAttempt: String(job.attempt), state: job.state },
  );
}

/**
 * The reports of workers. Each names its attempt and is applied by a conditional UPDATE on (state,
 * attempt): of two competing reports exactly one wins, a report of an attempt that is no longer current
 * is refused with ABORTED, and a retried report of an already recorded step answers as the first did.
 */
export function createWorkerReports(store: Store, signals: JobSignals, settings: LeaseSettings) {
  async function findOrThrow(id: string, tx: Tx): Promise<JobRecord> {
    const record = await store.jobs.find(id, tx);
    if (!record) throw new NotFoundError('job', id);
    return record;
  }

  async function typeOf(job: JobRecord, tx: Tx) {
    const record = await store.jobTypes.find(job.type, tx);
    if (!record) throw new FailedPreconditionError('UNKNOWN_JOB_TYPE', `job type ${job.type} no longer exists`);
    return toJobType(record);
  }

  async function reload(id: string): Promise<Job> {
    const record = await store.jobs.find(id);
    if (!record) throw new NotFoundError('job', id);
    return toJob(record);
  }

  async function startAttempt(jobId: string, attempt: number, workerId: string): Promise<StartedAttempt> {
    checkReport(jobId, attempt, workerId);
    const started = await store.inTransaction(async (tx) => {
      const job = await findOrThrow(jobId, tx);
      const type = await typeOf(job, tx);
      const lease = { timeoutMs: type.timeoutMs, heartbeatMs: heartbeatOf(type.timeoutMs, settings.leaseGraceMs) };
      if (job.attempt === attempt && job.state === 'running' && job.workerId === workerId) return lease;
      if (isTerminal(job.state as JobState)) {
        throw new FailedPreconditionError('JOB_FINISHED', `job ${jobId} is ${job.state}; skip it`, {
          jobId,
          state: job.state,
        });
      }
      const condition = { from: TRANSITIONS.start.from, attempt: attempt - 1 };
      const now = Date.now();
      const moved = await store.jobs.move(tx, jobId, condition, 'running', {
        attempt,
        workerId,
        leaseExpiresAt: new Date(now + type.timeoutMs + settings.leaseGraceMs),
        progress: 0,
        progressMessage: '',
      });
      if (!moved) throw stale(job, attempt);
      await store.jobs.addEvents(tx, [
        { jobId, attempt, fromState: job.state, toState: 'running', progress: null, message: 'started', workerId },
      ]);
      return lease;
    });
    signals.jobChanged(jobId);
    return { job: await reload(jobId), ...started };
  }

  async function reportProgress(jobId: string, attempt: number, workerId: string, progress: number, text: string) {
    checkReport(jobId, attempt, workerId);
    const message = storable(text);
    const violations = new Violations();
    violations.check(Number.isInteger(progress) && progress >= 0 && progress <= 100, 'progress', 'must be 0 to 100');
    violations.check(
      message.length <= MAX_PROGRESS_MESSAGE,
      'message',
      `must be at most ${MAX_PROGRESS_MESSAGE} characters`,
    );
    violations.throwIfAny();
    const { cancelRequested, changed } = await store.inTransaction(async (tx) => {
      const job = await findOrThrow(jobId, tx);
      if (job.state !== 'running' || job.attempt !== attempt) throw stale(job, attempt);
      const type = await typeOf(job, tx);
      const progressChanged = job.progress !== progress || job.progressMessage !== message;
      const changes: JobChanges = {
        leaseExpiresAt: new Date(Date.now() + type.timeoutMs + settings.leaseGraceMs),
        ...(progressChanged ? { progress, progressMessage: message } : {}),
      };
      if (!(await store.jobs.patch(tx, jobId, { from: ['running'], attempt }, changes))) throw stale(job, attempt);
      if (progressChanged) {
        await store.jobs.addEvents(tx, [
          { jobId, attempt, fromState: 'running', toState: 'running', progress, message, workerId },
        ]);
      }
      return { cancelRequested: job.cancelRequested, changed: progressChanged };
    });
    if (changed) signals.jobChanged(jobId);
    return { cancelRequested };
  }

  async function completeAttempt(jobId: string, attempt: number, workerId: string, result: JsonObject): Promise<Job> {
    checkReport(jobId, attempt, workerId);
    const violations = new Violations();
    if (violations.check(isJsonObject(result), 'result', 'must be a JSON object')) {
      violations.check(
        jsonBytes(result) <= settings.maxResultBytes,
        'result',
        `must be at most ${settings.maxResultBytes} bytes as JSON`,
      );
    }
    violations.throwIfAny();
    await store.inTransaction(async (tx) => {
      const job = await findOrThrow(jobId, tx);
      if (job.attempt === attempt && job.state === 'succeeded' && job.workerId === workerId) return;
      const moved = await store.jobs.move(tx, jobId, { from: TRANSITIONS.complete.from, attempt }, 'succeeded', {
        result: JSON.stringify(result),
        finishedAt: new Date(),
        leaseExpiresAt: null,
        progress: 100,
      });
      if (!moved) throw stale(job, attempt);
      await store.jobs.addEvents(tx, [
        { jobId, attempt, fromState: 'running', toState: 'succeeded', progress: null, message: 'succeeded', workerId },
      ]);
    });
    signals.jobChanged(jobId);
    return reload(jobId);
  }

  /** Records a failed attempt in `tx`; answers false when the attempt was not the running one. */
  async function recordFailure(tx: Tx, job: JobRecord, attempt: number, workerId: string | null, failure: Failure) {
    const type = await typeOf(job, tx);
    const error = storable(failure.error).slice(0, MAX_ERROR_LENGTH);
    const outcome = decideFailure(
      {
        failedBefore: job.failedAttempts,
        maxAttempts: job.maxAttempts,
        cancelRequested: job.cancelRequested,
        ...failure,
      },
      type.backoff,
      Math.random(),
    );
    const now = Date.now();
    const counts = outcome.transition === 'retryLater' || outcome.transition === 'die';
    const changes: JobChanges = {
      leaseExpiresAt: null,
      ...(counts ? { failedAttempts: job.failedAttempts + 1, lastError: error } : {}),
      ...(outcome.transition === 'retryLater' ? { runAt: new Date(now + outcome.delayMs) } : {}),
      ...(outcome.transition === 'release' ? { runAt: new Date(now) } : {}),
      ...(outcome.transition === 'die' || outcome.transition === 'cancelRunning' ? { finishedAt: new Date(now) } : {}),
    };
    const to = TRANSITIONS[outcome.transition].to;
    if (!(await store.jobs.move(tx, job.id, { from: ['running'], attempt }, to, changes))) return false;
    await store.jobs.addEvents(tx, [
      { jobId: job.id, attempt, fromState: 'running', toState: to, progress: null, message: error, workerId },
    ]);
    return true;
  }

  async function failAttempt(jobId: string, attempt: number, workerId: string, failure: Failure): Promise<Job> {
    checkReport(jobId, attempt, workerId);
    await store.inTransaction(async (tx) => {
      const job = await findOrThrow(jobId, tx);
      const alreadyRecorded =
        job.attempt === attempt &&
        job.workerId === workerId &&
        job.state !== 'running' &&
        (job.lastError === storable(failure.error).slice(0, MAX_ERROR_LENGTH) || failure.released);
      if (alreadyRecorded) return;
      if (!(await recordFailure(tx, job, attempt, workerId, failure))) throw stale(job, attempt);
    });
    signals.jobsDue();
    signals.jobChanged(jobId);
    return reload(jobId);
  }

  /** Fails the attempts whose lease lapsed (their worker died or lost touch); answers how many. */
  async function expireLeases(limit: number): Promise<number> {
    const expired = await store.jobs.expiredLeases(new Date(), limit);
    let count = 0;
    for (const candidate of expired) {
      const failed = await store.inTransaction(async (tx) => {
        const job = await findOrThrow(candidate.id, tx);
        if (job.state !== 'running' || job.attempt !== candidate.attempt) return false;
        return recordFailure(tx, job, job.attempt, null, {
          error: `lease expired: no report from worker ${job.workerId ?? 'unknown'} within the timeout and grace`,
          retryable: true,
          released: false,
        });
      });
      if (failed) {
        count += 1;
        signals.jobChanged(candidate.id);
      }
    }
    if (count > 0) signals.jobsDue();
    return count;
  }

  return { startAttempt, reportProgress, completeAttempt, failAttempt, expireLeases };
}

export type WorkerReports = ReturnType<typeof createWorkerReports>;
