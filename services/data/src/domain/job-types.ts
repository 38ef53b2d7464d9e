import { UniqueViolationError, type Store } from '../store';
import type { JobTypeRecord, JobTypeSettings } from '../store/job-type-store';
import type { BackoffPolicy } from './backoff';
import { AbortedError, AlreadyExistsError, NotFoundError } from './errors';
import { etagMatches, etagOf } from './etag';
import type { JobTypeCache } from './job-type-cache';
import { readPagePosition, toPage, type Page } from './pagination';
import { Violations } from './violations';

export const QUEUES = ['critical', 'default', 'low'] as const;
export type QueueName = (typeof QUEUES)[number];

export interface JobType {
  readonly name: string;
  readonly queue: QueueName;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly timeoutMs: number;
  readonly retentionMs: number;
  readonly paused: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly etag: string;
}

/** Settings a caller may give; an absent one keeps its default (create) or current value (update). */
export interface JobTypeChanges {
  readonly queue?: QueueName;
  readonly maxAttempts?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly timeoutMs?: number;
  readonly retentionMs?: number;
  readonly paused?: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const JOB_TYPE_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;

export const JOB_TYPE_DEFAULTS: JobTypeSettings = {
  queue: 'default',
  maxAttempts: 5,
  backoffKind: 'exponential',
  backoffBaseMs: SECOND,
  backoffCapMs: HOUR,
  backoffJitter: 0.2,
  timeoutMs: 5 * MINUTE,
  retentionMs: 7 * DAY,
  paused: false,
};

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function toSettings(changes: JobTypeChanges, current: JobTypeSettings): JobTypeSettings {
  return {
    queue: changes.queue ?? current.queue,
    maxAttempts: changes.maxAttempts ?? current.maxAttempts,
    backoffKind: changes.backoff?.kind ?? current.backoffKind,
    backoffBaseMs: changes.backoff?.baseMs ?? current.backoffBaseMs,
    backoffCapMs: changes.backoff?.capMs ?? current.backoffCapMs,
    backoffJitter: changes.backoff?.jitter ?? current.backoffJitter,
    timeoutMs: changes.timeoutMs ?? current.timeoutMs,
    retentionMs: changes.retentionMs ?? current.retentionMs,
    paused: changes.paused ?? current.paused,
  };
}

/** Records every setting out of its bounds; the bounds are documented in job_type.proto. */
function checkSettings(violations: Violations, settings: JobTypeSettings, prefix: string): void {
  violations.check(inRange(settings.maxAttempts, 1, 100), `${prefix}max_attempts`, 'must be 1 to 100');
  violations.check(inRange(settings.backoffBaseMs, 1, DAY), `${prefix}backoff.base`, 'must be 1 ms to 1 day');
  violations.check(
    inRange(settings.backoffCapMs, settings.backoffBaseMs, 7 * DAY),
    `${prefix}backoff.cap`,
    'must be at least backoff.base and at most 7 days',
  );
  violations.check(
    settings.backoffJitter >= 0 && settings.backoffJitter <= 1,
    `${prefix}backoff.jitter`,
    'must be 0 to 1',
  );
  violations.check(inRange(settings.timeoutMs, SECOND, DAY), `${prefix}timeout`, 'must be 1 s to 24 h');
  violations.check(inRange(settings.retentionMs, MINUTE, 365 * DAY), `${prefix}retention`, 'must be 1 min to 365 days');
}

export function toJobType(record: JobTypeRecord): JobType {
  return {
    name: record.name,
    queue: record.queue as QueueName,
    maxAttempts: record.maxAttempts,
    backoff: {
      kind: record.backoffKind as BackoffPolicy['kind'],
      baseMs: record.backoffBaseMs,
      capMs: record.backoffCapMs,
      jitter: record.backoffJitter,
    },
    timeoutMs: record.timeoutMs,
    retentionMs: record.retentionMs,
    paused: record.paused,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    etag: etagOf(record.version),
  };
}

/** A type declared in the configuration: upserted at start-up. */
export interface DeclaredJobType extends JobTypeChanges {
  readonly name: string;
}

/**
 * The rules of job types: names, bounds, etags, and the types declared in config. `types` is told of
 * every change made here, so that this replica never runs with a stale type.
 */
export function createJobTypes(store: Store, types: JobTypeCache) {
  async function get(name: string): Promise<JobType> {
    const violations = new Violations();
    violations.check(JOB_TYPE_NAME.test(name), 'name', 'must match ^[a-z][a-z0-9_.-]{0,62}$');
    violations.throwIfAny();
    const record = await store.jobTypes.find(name);
    if (!record) throw new NotFoundError('job type', name);
    return toJobType(record);
  }

  async function create(name: string, changes: JobTypeChanges): Promise<JobType> {
    const violations = new Violations();
    violations.check(JOB_TYPE_NAME.test(name), 'job_type.name', 'must match ^[a-z][a-z0-9_.-]{0,62}$');
    const settings = toSettings(changes, JOB_TYPE_DEFAULTS);
    checkSettings(violations, settings, 'job_type.');
    violations.throwIfAny();
    try {
      const created = toJobType(await store.jobTypes.insert(name, settings));
      types.forget();
      return created;
    } catch (error) {
      if (error instanceof UniqueViolationError) throw new AlreadyExistsError('job type', 'name');
      throw error;
    }
  }

  async function list(pageSize: number, pageToken: string): Promise<Page<JobType>> {
    const violations = new Violations();
    const position = readPagePosition(violations, pageSize, pageToken, {}, (cursor) => JOB_TYPE_NAME.test(cursor));
    violations.throwIfAny();
    const records = await store.jobTypes.list(position.afterId, position.limit + 1);
    const page = toPage(records, position.limit, {}, (record) => record.name);
    return { items: page.items.map(toJobType), nextPageToken: page.nextPageToken };
  }

  async function update(name: string, etag: string, changes: JobTypeChanges): Promise<JobType> {
    const nameViolations = new Violations();
    nameViolations.check(JOB_TYPE_NAME.test(name), 'job_type.name', 'must match ^[a-z][a-z0-9_.-]{0,62}$');
    nameViolations.throwIfAny();
    const current = await store.jobTypes.find(name);
    if (!current) throw new NotFoundError('job type', name);
    const violations = new Violations();
    checkSettings(violations, toSettings(changes, current), 'job_type.');
    violations.throwIfAny();
    const stale = new AbortedError('ETAG_MISMATCH', `job type ${name} changed since it was read; read it again`, {
      name,
    });
    if (!etagMatches(etag, current.version)) throw stale;
    if (!(await store.jobTypes.update(name, current.version, toSettings(changes, current)))) throw stale;
    types.forget();
    return get(name);
  }

  /** Creates or updates each declared type; a pause set through the API survives restarts. */
  async function upsertDeclared(declared: readonly DeclaredJobType[]): Promise<void> {
    for (const { name, ...changes } of declared) {
      const current = await store.jobTypes.find(name);
      if (!current) {
        await create(name, changes).catch((error: unknown) => {
          if (!(error instanceof AlreadyExistsError)) throw error;
        });
      } else {
        await update(name, '', { ...changes, paused: current.paused });
      }
    }
  }

  return { get, create, list, update, upsertDeclared };
}

export type JobTypes = ReturnType<typeof createJobTypes>;
