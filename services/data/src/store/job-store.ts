import { Op, col, fn, type WhereOptions } from 'sequelize';
import type { JobEventRow, JobModels } from './job-models';
import { plainRows } from './plain-rows';
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

/** The job, if it is still in one of `condition.from` (and at `condition.attempt`). */
function whereStill(id: string, condition: JobCondition): WhereOptions {
  return {
    id,
    state: { [Op.in]: [...condition.from] },
    ...(condition.attempt === undefined ? {} : { attempt: condition.attempt }),
  };
}

function toEvent(row: JobEventRow): JobEventRecord {
  const plain = row.get({ plain: true });
  return { ...plain, id: String(plain.id) };
}

/** Reads and writes jobs and their events; every function returns plain records. */
export function createJobStore({ Job, JobEvent }: JobModels) {
  const jobRows = plainRows<JobRecord, JobRecord>(Job);
  const eventRows = plainRows<JobEventRecord, NewJobEvent & { readonly createdAt: Date }>(JobEvent);
  const toRecord = (row: object): JobRecord => jobRows.fromRaw(row);

  async function insert(tx: Tx, jobs: readonly NewJobRecord[]): Promise<JobRecord[]> {
    const now = new Date();
    const records: JobRecord[] = jobs.map((job) => ({
      ...job,
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
    await translateUniqueViolation(() => jobRows.insert(tx, records));
    return records;
  }

  async function find(id: string, tx?: Tx): Promise<JobRecord | null> {
    const row = await Job.findByPk(id, { transaction: asTransaction(tx), lock: tx !== undefined, raw: true });
    return row ? toRecord(row) : null;
  }

  /** The jobs among `ids`, locked until `tx` ends (in id order, so that two batches never deadlock). */
  async function findManyLocked(tx: Tx, ids: readonly string[]): Promise<JobRecord[]> {
    const rows = await Job.findAll({
      where: { id: { [Op.in]: [...ids] } },
      order: [['id', 'ASC']],
      lock: true,
      transaction: asTransaction(tx),
      raw: true,
    });
    return rows.map(toRecord);
  }

  async function findByIdempotencyKey(type: string, key: string, tx?: Tx): Promise<JobRecord | null> {
    const row = await Job.findOne({ where: { type, idempotencyKey: key }, transaction: asTransaction(tx), raw: true });
    return row ? toRecord(row) : null;
  }

  async function list(query: JobListQuery): Promise<JobRecord[]> {
    const conditions: WhereOptions[] = [];
    if (query.beforeId) conditions.push({ id: { [Op.lt]: query.beforeId } });
    if (query.type) conditions.push({ type: query.type });
    if (query.state) conditions.push({ state: query.state });
    const rows = await Job.findAll({
      where: { [Op.and]: conditions },
      order: [['id', 'DESC']],
      limit: query.limit,
      raw: true,
    });
    return rows.map(toRecord);
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
    const [updated] = await Job.update(
      { ...changes, state: to },
      { where: whereStill(id, condition), transaction: asTransaction(tx) },
    );
    return updated === 1;
  }

  /**
   * Moves jobs whose rows the transaction holds locked (so their state was checked and cannot have
   * changed): one statement instead of one per job. `updatedAt` is `at`, so that the caller knows the
   * rows' new values without reading them again.
   */
  async function moveLocked(
    tx: Tx,
    ids: readonly string[],
    to: string,
    changes: JobChanges,
    at: Date,
  ): Promise<number> {
    const [updated] = await Job.update(
      { ...changes, state: to, updatedAt: at },
      { where: { id: { [Op.in]: [...ids] } }, transaction: asTransaction(tx), silent: true },
    );
    return updated;
  }

  /** Changes columns of a job without moving it, under the same condition as `move`. */
  async function patch(tx: Tx, id: string, condition: JobCondition, changes: JobChanges): Promise<boolean> {
    const [updated] = await Job.update(changes, { where: whereStill(id, condition), transaction: asTransaction(tx) });
    return updated === 1;
  }

  /**
   * Due pending and retrying jobs, oldest run_at first. Within `tx` they stay locked until it ends, and
   * rows another data-service replica holds are skipped (PostgreSQL), so that replicas never dispatch a
   * job twice.
   */
  async function findDue(now: Date, limit: number, pausedTypes: readonly string[], tx?: Tx): Promise<JobRecord[]> {
    const rows = await Job.findAll({
      where: {
        state: { [Op.in]: ['pending', 'retrying'] },
        runAt: { [Op.lte]: now },
        ...(pausedTypes.length > 0 ? { type: { [Op.notIn]: [...pausedTypes] } } : {}),
      },
      order: [['runAt', 'ASC']],
      limit,
      raw: true,
      ...(tx ? { lock: true, skipLocked: true, transaction: asTransaction(tx) } : {}),
    });
    return rows.map(toRecord);
  }

  /** Queued jobs that were handed to Redis before `cutoff`, for the reconciler. */
  async function queuedBefore(cutoff: Date, limit: number): Promise<JobRecord[]> {
    const rows = await Job.findAll({
      where: { state: 'queued', queuedAt: { [Op.lt]: cutoff } },
      order: [['queuedAt', 'ASC']],
      limit,
      raw: true,
    });
    return rows.map(toRecord);
  }

  /** Marks queued jobs as checked now, so that the reconciler's next round looks at others first. */
  async function touchQueued(tx: Tx, ids: readonly string[], now: Date): Promise<void> {
    await Job.update(
      { queuedAt: now },
      { where: { id: { [Op.in]: [...ids] }, state: 'queued' }, transaction: asTransaction(tx) },
    );
  }

  async function expiredLeases(now: Date, limit: number): Promise<JobRecord[]> {
    const rows = await Job.findAll({
      where: { state: 'running', leaseExpiresAt: { [Op.lt]: now } },
      order: [['leaseExpiresAt', 'ASC']],
      limit,
      raw: true,
    });
    return rows.map(toRecord);
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
    const createdAt = new Date();
    await eventRows.insert(
      tx,
      events.map((event) => ({ ...event, createdAt })),
    );
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
    findByIdempotencyKey,
    list,
    count,
    move,
    moveLocked,
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
