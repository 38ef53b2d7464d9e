import type { JobChanges, JobRecord, NewJobEvent, ReportedJob, Store, Tx } from '../store';
import { AbortedError, FailedPreconditionError, NotFoundError, type DomainError } from './errors';
import { checkId } from './ids';
import { createGroupCommit } from './group-commit';
import { decideFailure } from './job-failure';
import type { JobTypeCache } from './job-type-cache';
import type { JobSignals } from './job-signals';
import { canMove, isTerminal, TRANSITIONS, type JobState } from './job-state';
import { toJobType, type JobType } from './job-types';
import { isJsonObject, jsonBytes, toJob, type Job, type JsonObject } from './jobs';
import { Violations } from './violations';

export interface LeaseSettings {
  /** Added to the type's timeout: how long a silent worker keeps its attempt. */
  readonly leaseGraceMs: number;
  readonly maxResultBytes: number;
}

/** What a worker needs to run an attempt it claimed. */
export interface ClaimedAttempt {
  readonly type: string;
  readonly payload: JsonObject;
  readonly timeoutMs: number;
  readonly heartbeatMs: number;
}

/** The answer of the single StartAttempt method: the lease and the whole job. */
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

/** A failure's error as it is stored in `last_error`. */
function storedError(failure: Failure): string {
  return storable(failure.error).slice(0, MAX_ERROR_LENGTH);
}

/** One report of a batch: a start, a completion or a failure of an attempt. */
export type AttemptReport =
  | { readonly kind: 'start'; readonly jobId: string; readonly attempt: number; readonly workerId: string }
  | {
      readonly kind: 'complete';
      readonly jobId: string;
      readonly attempt: number;
      readonly workerId: string;
      readonly result: JsonObject;
    }
  | {
      readonly kind: 'fail';
      readonly jobId: string;
      readonly attempt: number;
      readonly workerId: string;
      readonly failure: Failure;
    };

/** How one report of a batch ended: recorded (with the lease, for a start) or refused. */
export type ReportOutcome =
  | { readonly ok: true; readonly claimed: ClaimedAttempt | undefined }
  | { readonly ok: false; readonly error: DomainError };

export const MAX_REPORTS = 500;

/** The most reports one transaction records when batches of several workers are merged. */
const MAX_REPORTS_PER_ROUND = 2000;

function checkReport(
  violations: Violations,
  report: Pick<AttemptReport, 'jobId' | 'attempt' | 'workerId'>,
  prefix: string,
): void {
  checkId(violations, report.jobId, `${prefix}job_id`);
  violations.check(Number.isInteger(report.attempt) && report.attempt >= 1, `${prefix}attempt`, 'must be 1 or more');
  violations.check(
    report.workerId.length >= 1 && report.workerId.length <= MAX_WORKER_ID && !/\p{Cc}/u.test(report.workerId),
    `${prefix}worker_id`,
    `must be 1 to ${MAX_WORKER_ID} printable characters`,
  );
}

/** The report's own INVALID_ARGUMENT, if any; `prefix` locates its fields in the request. */
function invalidReport(report: AttemptReport, prefix: string, maxResultBytes: number): DomainError | undefined {
  const violations = new Violations();
  checkReport(violations, report, prefix);
  if (report.kind === 'complete') {
    if (violations.check(isJsonObject(report.result), `${prefix}result`, 'must be a JSON object')) {
      violations.check(
        jsonBytes(report.result) <= maxResultBytes,
        `${prefix}result`,
        `must be at most ${maxResultBytes} bytes as JSON`,
      );
    }
  }
  return violations.error();
}

function stale(job: ReportedJob, attempt: number): AbortedError {
  return new AbortedError(
    'STALE_ATTEMPT',
    `attempt ${attempt} of job ${job.id} is no longer current (the job is ${job.state} at attempt ${job.attempt})`,
    { jobId: job.id, attempt: String(attempt), currentAttempt: String(job.attempt), state: job.state },
  );
}

function finished(job: ReportedJob): FailedPreconditionError {
  return new FailedPreconditionError('JOB_FINISHED', `job ${job.id} is ${job.state}; skip it`, {
    jobId: job.id,
    state: job.state,
  });
}

function unknownType(job: ReportedJob): FailedPreconditionError {
  return new FailedPreconditionError('UNKNOWN_JOB_TYPE', `job type ${job.type} no longer exists`);
}

/** The single-report methods answer as the batch would, by throwing the refusal. */
function unwrap(outcome: ReportOutcome | undefined): ClaimedAttempt | undefined {
  if (!outcome) throw new Error('a batch of one report answered nothing');
  if (!outcome.ok) throw outcome.error;
  return outcome.claimed;
}

/**
 * The writes of one batch, applied at its end: moves that set the same values run as one UPDATE (the
 * rows are locked, so each was checked already), and every event goes in one INSERT.
 */
class BatchWrites {
  private readonly moves = new Map<string, { to: string; changes: JobChanges; ids: string[] }>();
  private readonly events: NewJobEvent[] = [];

  move(job: ReportedJob, attempt: number, to: JobState, changes: JobChanges, workerId: string, message: string): void {
    const key = JSON.stringify([to, changes]);
    const group = this.moves.get(key);
    if (group) group.ids.push(job.id);
    else this.moves.set(key, { to, changes, ids: [job.id] });
    this.events.push({ jobId: job.id, attempt, fromState: job.state, toState: to, progress: null, message, workerId });
  }

  async apply(store: Store, tx: Tx, at: Date): Promise<void> {
    await store.jobs.applyMoves(tx, [...this.moves.values()], this.events, at);
  }
}

/** The payload as stored: validated as a JSON object when it was enqueued. */
function payloadOf(job: ReportedJob): JsonObject {
  const payload: unknown = JSON.parse(job.payload);
  return isJsonObject(payload) ? payload : {};
}

const RECORDED: ReportOutcome = { ok: true, claimed: undefined };

function decideStart(
  job: ReportedJob,
  type: JobType,
  { attempt, workerId }: AttemptReport,
  now: Date,
  graceMs: number,
  writes: BatchWrites,
): ReportOutcome {
  const lease = { timeoutMs: type.timeoutMs, heartbeatMs: heartbeatOf(type.timeoutMs, graceMs) };
  if (job.attempt === attempt && job.state === 'running' && job.workerId === workerId) {
    return { ok: true, claimed: { type: job.type, payload: payloadOf(job), ...lease } };
  }
  if (isTerminal(job.state as JobState)) return { ok: false, error: finished(job) };
  if (!canMove('start', job.state as JobState) || job.attempt !== attempt - 1) {
    return { ok: false, error: stale(job, attempt) };
  }
  const changes = {
    attempt,
    workerId,
    leaseExpiresAt: new Date(now.getTime() + type.timeoutMs + graceMs),
    progress: 0,
    progressMessage: '',
  };
  writes.move(job, attempt, TRANSITIONS.start.to, changes, workerId, 'started');
  return { ok: true, claimed: { type: job.type, payload: payloadOf(job), ...lease } };
}

function decideComplete(
  job: ReportedJob,
  { attempt, workerId }: AttemptReport,
  result: JsonObject,
  now: Date,
  writes: BatchWrites,
): ReportOutcome {
  if (job.attempt === attempt && job.state === 'succeeded' && job.workerId === workerId) return RECORDED;
  if (!canMove('complete', job.state as JobState) || job.attempt !== attempt) {
    return { ok: false, error: stale(job, attempt) };
  }
  const changes = { result: JSON.stringify(result), finishedAt: now, leaseExpiresAt: null, progress: 100 };
  writes.move(job, attempt, TRANSITIONS.complete.to, changes, workerId, 'succeeded');
  return RECORDED;
}

/**
 * The reports of workers. Each names its attempt and is checked against the job's row, which the
 * transaction holds locked: of two competing reports exactly one wins, a report of an attempt that is no
 * longer current is refused with ABORTED, and a retried report of an already recorded step answers as
 * the first did. A batch of reports costs one transaction and a handful of statements, whatever its size.
 */
export function createWorkerReports(
  store: Store,
  signals: JobSignals,
  settings: LeaseSettings,
  jobTypes: JobTypeCache,
) {
  async function findOrThrow(id: string, tx: Tx): Promise<JobRecord> {
    const record = await store.jobs.find(id, tx);
    if (!record) throw new NotFoundError('job', id);
    return record;
  }

  async function typeOf(job: ReportedJob, tx: Tx) {
    const record = await store.jobTypes.find(job.type, tx);
    if (!record) throw unknownType(job);
    return toJobType(record);
  }

  async function reload(id: string): Promise<Job> {
    const record = await store.jobs.find(id);
    if (!record) throw new NotFoundError('job', id);
    return toJob(record);
  }

  /** A failure, recorded at once: failures are rare and each needs its own decision and backoff. */
  async function recordFailureReport(
    tx: Tx,
    job: ReportedJob,
    type: JobType | undefined,
    report: AttemptReport,
    failure: Failure,
  ) {
    const { attempt, workerId } = report;
    const alreadyRecorded =
      job.attempt === attempt &&
      job.workerId === workerId &&
      job.state !== 'running' &&
      (job.lastError === storedError(failure) || failure.released);
    if (alreadyRecorded) return { outcome: RECORDED, failed: false };
    if (!type) return { outcome: { ok: false, error: unknownType(job) } as const, failed: false };
    if (!(await recordFailure(tx, job, type, attempt, workerId, failure))) {
      return { outcome: { ok: false, error: stale(job, attempt) } as const, failed: false };
    }
    return { outcome: RECORDED, failed: true };
  }

  /**
   * Records valid reports of distinct jobs in one transaction, each decided against its locked row, and
   * answers their outcomes in order.
   */
  async function recordValid(reports: readonly AttemptReport[]): Promise<ReportOutcome[]> {
    const outcomes: ReportOutcome[] = [];
    // A round of starts only does not wait for the disk: a database crash that undoes a start leaves the
    // job queued, its worker's later reports are refused as stale and the reconciler publishes it again
    // (at least once, as always). A round with an outcome waits, and flushes the starts before it with it.
    const durable = reports.some((report) => report.kind !== 'start');
    const failed = await store.inTransaction(
      async (tx) => {
        let anyFailed = false;
        const jobs = new Map(
          (
            await store.jobs.findReportedLocked(
              tx,
              reports.map((report) => report.jobId),
            )
          ).map((job) => [job.id, job]),
        );
        // A completion needs no type: batches of completions skip the read.
        const typed = reports.filter((report) => report.kind !== 'complete').map((report) => jobs.get(report.jobId));
        const typeNames = [...new Set(typed.flatMap((job) => (job ? [job.type] : [])))];
        const found = typeNames.length > 0 ? await jobTypes.findMany(typeNames, tx) : [];
        const types = new Map(found.map((type) => [type.name, toJobType(type)]));
        const now = new Date();
        const writes = new BatchWrites();
        for (const report of reports) {
          const job = jobs.get(report.jobId);
          const type = job && types.get(job.type);
          if (!job) {
            outcomes.push({ ok: false, error: new NotFoundError('job', report.jobId) });
          } else if (report.kind === 'complete') {
            outcomes.push(decideComplete(job, report, report.result, now, writes));
          } else if (report.kind === 'fail') {
            const decided = await recordFailureReport(tx, job, type, report, report.failure);
            outcomes.push(decided.outcome);
            anyFailed ||= decided.failed;
          } else if (!type) {
            outcomes.push({ ok: false, error: unknownType(job) });
          } else {
            outcomes.push(decideStart(job, type, report, now, settings.leaseGraceMs, writes));
          }
        }
        await writes.apply(store, tx, now);
        return anyFailed;
      },
      { durable },
    );
    if (failed) signals.jobsDue();
    reports.forEach((report, index) => {
      if (outcomes[index]?.ok) signals.jobChanged(report.jobId);
    });
    return outcomes;
  }

  const recordInRounds = createGroupCommit(recordValid, {
    maxItems: MAX_REPORTS_PER_ROUND,
    keyOf: (report) => report.jobId,
  });

  /**
   * Records a batch of reports, each as its single method would, and answers each one's outcome in
   * order. Throws INVALID_ARGUMENT for the whole batch when it is empty, too large or names a job twice;
   * `prefixOf` locates each report's fields in the request.
   */
  async function recordReports(
    reports: readonly AttemptReport[],
    prefixOf: (index: number, report: AttemptReport) => string,
  ): Promise<ReportOutcome[]> {
    const violations = new Violations();
    violations.check(
      reports.length >= 1 && reports.length <= MAX_REPORTS,
      'reports',
      `must hold 1 to ${MAX_REPORTS} reports`,
    );
    const seen = new Set<string>();
    reports.forEach((report, index) => {
      violations.check(
        !seen.has(report.jobId),
        `${prefixOf(index, report)}job_id`,
        'names a job reported earlier in the batch',
      );
      seen.add(report.jobId);
    });
    violations.throwIfAny();
    const outcomes: ReportOutcome[] = [];
    const valid: Array<readonly [number, AttemptReport]> = [];
    reports.forEach((report, index) => {
      const error = invalidReport(report, prefixOf(index, report), settings.maxResultBytes);
      if (error) outcomes[index] = { ok: false, error };
      else valid.push([index, report]);
    });
    if (valid.length === 0) return outcomes;
    const recorded = await recordInRounds(valid.map(([, report]) => report));
    valid.forEach(([index], position) => {
      const outcome = recorded[position];
      if (outcome) outcomes[index] = outcome;
    });
    return outcomes;
  }

  const alone = () => '';

  async function startAttempt(jobId: string, attempt: number, workerId: string): Promise<StartedAttempt> {
    const [outcome] = await recordReports([{ kind: 'start', jobId, attempt, workerId }], alone);
    const claimed = unwrap(outcome);
    if (!claimed) throw new Error('a recorded start answered no lease');
    return { job: await reload(jobId), timeoutMs: claimed.timeoutMs, heartbeatMs: claimed.heartbeatMs };
  }

  async function completeAttempt(jobId: string, attempt: number, workerId: string, result: JsonObject): Promise<Job> {
    unwrap((await recordReports([{ kind: 'complete', jobId, attempt, workerId, result }], alone))[0]);
    return reload(jobId);
  }

  async function failAttempt(jobId: string, attempt: number, workerId: string, failure: Failure): Promise<Job> {
    unwrap((await recordReports([{ kind: 'fail', jobId, attempt, workerId, failure }], alone))[0]);
    return reload(jobId);
  }

  async function reportProgress(jobId: string, attempt: number, workerId: string, progress: number, text: string) {
    const message = storable(text);
    const violations = new Violations();
    checkReport(violations, { jobId, attempt, workerId }, '');
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

  /** Records a failed attempt in `tx`; answers false when the attempt was not the running one. */
  async function recordFailure(
    tx: Tx,
    job: ReportedJob,
    type: JobType,
    attempt: number,
    workerId: string | null,
    failure: Failure,
  ) {
    const error = storedError(failure);
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

  /** Fails the attempts whose lease lapsed (their worker died or lost touch); answers how many. */
  async function expireLeases(limit: number): Promise<number> {
    const expired = await store.jobs.expiredLeases(new Date(), limit);
    let count = 0;
    for (const candidate of expired) {
      const failed = await store.inTransaction(async (tx) => {
        const job = await findOrThrow(candidate.id, tx);
        if (job.state !== 'running' || job.attempt !== candidate.attempt) return false;
        return recordFailure(tx, job, await typeOf(job, tx), job.attempt, null, {
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

  return { recordReports, startAttempt, reportProgress, completeAttempt, failAttempt, expireLeases };
}

export type WorkerReports = ReturnType<typeof createWorkerReports>;
