import { Op, col, fn } from 'sequelize';
import type { JobEventRow, JobModels } from './job-models';
import { plainRows, runStatements, sequelizeOf } from './plain-rows';
import { asTransaction, translateUniqueViolation, type Tx } from './transaction';

export interface NewJobRecord {
  readonly id: string;
  readonly type: string;
  readonly queue: string;
  readonly payload: string;
  readonly maxAttempts: number;
  readonly runAt: Date;
  readonly idempotencyKey: string | null;
}

export interface JobRecord {
  readonly id: string;
  readonly type: string;
  readonly state: string;
  readonly queue: string;
  readonly payload: string;
  readonly result: string | null;
  readonly lastError: string | null;
  readonly attempt: number;
  readonly failedAttempts: number;
  readonly maxAttempts: number;
  readonly runAt: Date;
  readonly idempotencyKey: string | null;
  readonly progress: number;
  readonly progressMessage: string;
  readonly cancelRequested: boolean;
  readonly workerId: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly queuedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The columns a state change may set besides `state`. */
export type JobChanges = Partial<
  Pick<
    JobRecord,
    | 'result'
    | 'lastError'
    | 'attempt'
    | 'failedAttempts'
    | 'maxAttempts'
    | 'runAt'
    | 'progress'
    | 'progressMessage'
    | 'cancelRequested'
    | 'workerId'
    | 'leaseExpiresAt'
    | 'queuedAt'
    | 'finishedAt'
  >
>;

export interface NewJobEvent {
  readonly jobId: string;
  readonly attempt: number;
  readonly fromState: string | null;
  readonly toState: string;
  readonly progress: number | null;
  readonly message: string;
  readonly workerId: string | null;
}

export interface JobEventRecord extends NewJobEvent {
  readonly id: string;
  readonly createdAt: Date;
}

/** Jobs that move to one state with the same changes, their rows held locked by the transaction. */
export interface LockedMove {
  readonly ids: readonly string[];
  readonly to: string;
  readonly changes: JobChanges;
}

/** The columns worker reports read of a job: enough to decide a report and to answer a claim. */
const REPORTED_COLUMNS = [
  'id',
  'type',
  'state',
  'payload',
  'attempt',
  'failedAttempts',
  'maxAttempts',
  'cancelRequested',
  'workerId',
  'lastError',
] as const satisfies ReadonlyArray<keyof JobRecord>;

export type ReportedJob = Pick<JobRecord, (typeof REPORTED_COLUMNS)[number]>;

/** What the dispatcher reads of a due job. */
export type DueJob = Pick<JobRecord, 'id' | 'state' | 'attempt' | 'queue'>;

export interface JobListQuery {
  readonly beforeId: string | undefined;
  readonly limit: number;
  readonly type: string | undefined;
  readonly state: string | undefined;
}

/** Which rows a conditional update may touch: the states it leaves and, for reports, the attempt. */
export interface JobCondition {
  readonly from: readonly string[];
  readonly attempt?: number;
}

/** The SQL condition of `move` and `patch`: the job, if it is still in one of `from` (and at `attempt`). */
function whereStill(id: string, condition: JobCondition): [string, unknown[]] {
  return condition.attempt === undefined
    ? ['WHERE id = ? AND state IN (?)', [id, [...condition.from]]]
    : ['WHERE id = ? AND state IN (?) AND attempt = ?', [id, [...condition.from], condition.attempt]];
}

function toEvent(row: JobEventRow): JobEventRecord {
  const plain = row.get({ plain: true });
  return { ...plain, id: String(plain.id) };
}

/** Reads and writes jobs and their events; every function returns plain records. */
export function createJobStore({ Job, JobEvent }: JobModels) {
  const jobRows = plainRows<JobRecord, JobRecord>(Job);
  const sequelize = sequelizeOf(Job);
  const postgres = sequelize.getDialect() === 'postgres';
  const eventRows = plainRows<JobEventRecord, NewJobEvent & { readonly createdAt: Date }>(JobEvent);

  function eventRecords(events: readonly NewJobEvent[]) {
    const createdAt = new Date();
    return events.map((event) => ({
      jobId: event.jobId,
      attempt: event.attempt,
      fromState: event.fromState,
      toState: event.toState,
      progress: event.progress,
      message: event.message,
      workerId: event.workerId,
      createdAt,
    }));
  }

  /** Inserts new jobs and their first events together, in one statement trip on PostgreSQL. */
  async function insert(tx: Tx, jobs: readonly NewJobRecord[], events: readonly NewJobEvent[]): Promise<JobRecord[]> {
    const now = new Date();
    // Each field is named: spreading `job` and then adding a dozen fields made V8 build every record
    // the slow way, about 15 us each.
    const records: JobRecord[] = jobs.map((job) => ({
      id: job.id,
      type: job.type,
      queue: job.queue,
      payload: job.payload,
      maxAttempts: job.maxAttempts,
      runAt: job.runAt,
      idempotencyKey: job.idempotencyKey,
      state: 'pending',
      attempt: 0,
      failedAttempts: 0,
      progress: 0,
      progressMessage: '',
      cancelRequested: false,
      result: null,
      lastError: null,
      workerId: null,
      leaseExpiresAt: null,
      queuedAt: null,
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
    }));
    // Jobs without an idempotency key cannot collide: they ride on the COMMIT, and an Enqueue costs a
    // single round trip. A key's unique violation must surface here, where it is translated.
    const keyed = jobs.some((job) => job.idempotencyKey !== null);
    await translateUniqueViolation(() =>
      runStatements(
        sequelize,
        tx,
        [jobRows.insertStatement(records), eventRows.insertStatement(eventRecords(events))],
        { defer: !keyed },
      ),
    );
    return records;
  }

  async function find(id: string, tx?: Tx): Promise<JobRecord | null> {
    const [record] = await jobRows.select(tx, 'WHERE id = ?', [id], tx ? 'update' : undefined);
    return record ?? null;
  }

  /** The jobs among `ids`, locked until `tx` ends (in id order, so that two batches never deadlock). */
  async function findManyLocked(tx: Tx, ids: readonly string[]): Promise<JobRecord[]> {
    return ids.length === 0 ? [] : jobRows.select(tx, 'WHERE id IN (?) ORDER BY id', [[...ids]], 'update');
  }

  /**
   * What reports need of the jobs among `ids`, locked until `tx` ends (in id order, so that two batches
   * never deadlock): a batch of reports reads ten columns of each row instead of every one.
   */
  async function findReportedLocked(tx: Tx, ids: readonly string[]): Promise<ReportedJob[]> {
    return ids.length === 0
      ? []
      : jobRows.selectSome(tx, REPORTED_COLUMNS, 'WHERE id IN (?) ORDER BY id', [[...ids]], { lock: 'update' });
  }

  async function findByIdempotencyKey(type: string, key: string, tx?: Tx): Promise<JobRecord | null> {
    const [record] = await jobRows.select(tx, 'WHERE type = ? AND idempotency_key = ?', [type, key]);
    return record ?? null;
  }

  async function list(query: JobListQuery): Promise<JobRecord[]> {
    const filters: Array<[string, unknown]> = [];
    if (query.beforeId) filters.push(['id < ?', query.beforeId]);
    if (query.type) filters.push(['type = ?', query.type]);
    if (query.state) filters.push(['state = ?', query.state]);
    const where = filters.length > 0 ? `WHERE ${filters.map(([sql]) => sql).join(' AND ')} ` : '';
    return jobRows.select(undefined, `${where}ORDER BY id DESC LIMIT ?`, [
      ...filters.map(([, value]) => value),
      query.limit,
    ]);
  }

  async function count(type: string | undefined): Promise<Array<{ type: string; state: string; count: number }>> {
    const rows = (await Job.findAll({
      attributes: ['type', 'state', [fn('COUNT', col('id')), 'count']],
      where: type ? { type } : {},
      group: ['type', 'state'],
      order: [
        ['type', 'ASC'],
        ['state', 'ASC'],
      ],
      raw: true,
    })) as unknown as Array<{ type: string; state: string; count: number | string }>;
    return rows.map((row) => ({ type: row.type, state: row.state, count: Number(row.count) }));
  }

  /**
   * Moves one job to `to` only if it is still in one of `condition.from` (and at `condition.attempt`),
   * so that of two concurrent moves exactly one wins. Answers whether this one did.
   */
  async function move(tx: Tx, id: string, condition: JobCondition, to: string, changes: JobChanges): Promise<boolean> {
    return updateStill(tx, id, condition, { ...changes, state: to });
  }

  /**
   * Moves jobs whose rows the transaction holds locked (so their state was checked and cannot have
   * changed), one statement per move, and records their events. On PostgreSQL they go out with the
   * transaction's next statement or its COMMIT: no round trip of their own. `updatedAt` is `at`, so that the caller knows the rows' new values without reading them again.
   */
  async function applyMoves(
    tx: Tx,
    moves: readonly LockedMove[],
    events: readonly NewJobEvent[],
    at: Date,
  ): Promise<void> {
    await runStatements(
      sequelize,
      tx,
      [
        ...moves
          .filter((move) => move.ids.length > 0)
          .map(({ ids, to, changes }) =>
            jobRows.updateStatement({ ...changes, state: to, updatedAt: at }, 'WHERE id IN (?)', [[...ids]]),
          ),
        eventRows.insertStatement(eventRecords(events)),
      ],
      { defer: true },
    );
  }

  /** Changes columns of a job without moving it, under the same condition as `move`. */
  async function patch(tx: Tx, id: string, condition: JobCondition, changes: JobChanges): Promise<boolean> {
    return updateStill(tx, id, condition, changes);
  }

  /** The one conditional UPDATE behind `move` and `patch`. */
  async function updateStill(
    tx: Tx,
    id: string,
    condition: JobCondition,
    changes: Partial<JobRecord>,
  ): Promise<boolean> {
    const [where, values] = whereStill(id, condition);
    return (await jobRows.update(tx, { ...changes, updatedAt: new Date() }, where, values)) === 1;
  }

  /**
   * Due pending and retrying jobs of types that are not paused, oldest run_at first. Within `tx` they
   * stay locked until it ends, and rows another data-service replica holds are skipped (PostgreSQL), so
   * that replicas never dispatch a job twice.
   */
  async function findDue(now: Date, limit: number, tx?: Tx): Promise<DueJob[]> {
    return jobRows.selectSome(
      tx,
      ['id', 'state', 'attempt', 'queue'],
      "WHERE state IN ('pending', 'retrying') AND run_at <= ? " +
        'AND type NOT IN (SELECT name FROM job_types WHERE paused = ?) ORDER BY run_at LIMIT ?',
      [now, true, limit],
      {
        ...(tx ? { lock: 'skip-locked' } : {}),
        // Without statistics on `state` (a new or truncated table, until autovacuum analyzes it)
        // PostgreSQL estimates a handful of due rows and reads and sorts every one of them, 13 ms for a
        // backlog of 20,000; read in run_at order from jobs_due_run_at_idx, the round stops at its limit
        // (0.3 ms).
        ...(tx && postgres ? { before: 'SET LOCAL enable_bitmapscan = off' } : {}),
      },
    );
  }

  /** Queued jobs that were handed to Redis before `cutoff`, for the reconciler. */
  async function queuedBefore(cutoff: Date, limit: number): Promise<JobRecord[]> {
    return jobRows.select(undefined, "WHERE state = 'queued' AND queued_at < ? ORDER BY queued_at LIMIT ?", [
      cutoff,
      limit,
    ]);
  }

  /** Marks queued jobs as checked now, so that the reconciler's next round looks at others first. */
  async function touchQueued(tx: Tx, ids: readonly string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await jobRows.update(tx, { queuedAt: now, updatedAt: now }, "WHERE id IN (?) AND state = 'queued'", [[...ids]]);
  }

  async function expiredLeases(now: Date, limit: number): Promise<JobRecord[]> {
    return jobRows.select(
      undefined,
      "WHERE state = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?",
      [now, limit],
    );
  }

  /** Deletes up to `limit` finished jobs of a type (and their events) that finished before `cutoff`. */
  async function deleteFinished(tx: Tx, type: string, cutoff: Date, limit: number): Promise<number> {
    const transaction = asTransaction(tx);
    const rows = await Job.findAll({
      attributes: ['id'],
      where: { type, state: { [Op.in]: ['succeeded', 'dead', 'cancelled'] }, finishedAt: { [Op.lt]: cutoff } },
      limit,
      transaction,
    });
    const ids = rows.map((row) => row.id);
    if (ids.length === 0) return 0;
    await JobEvent.destroy({ where: { jobId: { [Op.in]: ids } }, transaction });
    return Job.destroy({
      where: { id: { [Op.in]: ids }, state: { [Op.in]: ['succeeded', 'dead', 'cancelled'] } },
      transaction,
    });
  }

  async function addEvents(tx: Tx, events: readonly NewJobEvent[]): Promise<void> {
    await eventRows.insert(tx, eventRecords(events));
  }

  async function listEvents(jobId: string, afterId: string | undefined, limit: number): Promise<JobEventRecord[]> {
    const rows = await JobEvent.findAll({
      where: afterId === undefined ? { jobId } : { jobId, id: { [Op.gt]: afterId } },
      order: [['id', 'ASC']],
      limit,
    });
    return rows.map(toEvent);
  }

  return {
    insert,
    find,
    findManyLocked,
    findReportedLocked,
    findByIdempotencyKey,
    list,
    count,
    move,
    applyMoves,
    patch,
    findDue,
    queuedBefore,
    touchQueued,
    expiredLeases,
    deleteFinished,
    addEvents,
    listEvents,
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
