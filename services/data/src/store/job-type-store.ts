import { Op } from 'sequelize';
import type { JobModels, JobTypeRow } from './job-models';
import { plainRows } from './plain-rows';
import { translateUniqueViolation, type Tx } from './transaction';

export interface JobTypeSettings {
  readonly queue: string;
  readonly maxAttempts: number;
  readonly backoffKind: string;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly backoffJitter: number;
  readonly timeoutMs: number;
  readonly retentionMs: number;
  readonly paused: boolean;
}

export interface JobTypeRecord extends JobTypeSettings {
  readonly name: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A row as read: PostgreSQL returns BIGINT as a string. */
type JobTypeRowValues = Omit<JobTypeRecord, 'retentionMs'> & { readonly retentionMs: number | string };

function toRecord(row: JobTypeRow | JobTypeRowValues): JobTypeRecord {
  return {
    name: row.name,
    queue: row.queue,
    maxAttempts: row.maxAttempts,
    backoffKind: row.backoffKind,
    backoffBaseMs: row.backoffBaseMs,
    backoffCapMs: row.backoffCapMs,
    backoffJitter: row.backoffJitter,
    timeoutMs: row.timeoutMs,
    // PostgreSQL returns BIGINT as a string; retention is bounded to a year of milliseconds on input.
    retentionMs: Number(row.retentionMs),
    paused: row.paused,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Reads and writes job types; every function returns plain records. */
export function createJobTypeStore({ JobType }: JobModels) {
  const rows = plainRows<JobTypeRowValues, never>(JobType);

  async function insert(name: string, settings: JobTypeSettings): Promise<JobTypeRecord> {
    return toRecord(await translateUniqueViolation(() => JobType.create({ name, ...settings, version: 1 })));
  }

  async function find(name: string, tx?: Tx): Promise<JobTypeRecord | null> {
    const [row] = await rows.select(tx, 'WHERE name = ?', [name]);
    return row ? toRecord(row) : null;
  }

  /** Read for every enqueue and every batch of reports: a plain statement, not a model query. */
  async function findMany(names: readonly string[], tx?: Tx): Promise<JobTypeRecord[]> {
    return names.length === 0 ? [] : (await rows.select(tx, 'WHERE name IN (?)', [[...names]])).map(toRecord);
  }

  async function list(afterName: string | undefined, limit: number): Promise<JobTypeRecord[]> {
    const rows = await JobType.findAll({
      where: afterName === undefined ? {} : { name: { [Op.gt]: afterName } },
      order: [['name', 'ASC']],
      limit,
    });
    return rows.map(toRecord);
  }

  async function listAll(): Promise<JobTypeRecord[]> {
    return (await JobType.findAll({ order: [['name', 'ASC']] })).map(toRecord);
  }

  /** Applies `changes` only if the type still has `version`; answers false when it does not. */
  async function update(name: string, version: number, changes: Partial<JobTypeSettings>): Promise<boolean> {
    const [count] = await JobType.update({ ...changes, version: version + 1 }, { where: { name, version } });
    return count === 1;
  }

  return { insert, find, findMany, list, listAll, update };
}

export type JobTypeStore = ReturnType<typeof createJobTypeStore>;
