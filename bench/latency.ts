/**
 * Part 3: enqueue-to-start latency at a steady rate, and how the wait grows when jobs arrive faster than
 * the workers finish them.
 */
import { countByState, lastFinishedAt, resetJobs, waitForFinished, type RunContext } from './jobs';
import { asError, type EnqueueResult } from './protocol';
import { toDate } from './sqlite';
import { percentile, sleep } from './stats';
import { LATENCY_TYPE, NOOP_TYPE, startWorkers, stopAllOf } from './tandem';

export interface LatencyResult {
  readonly dialect: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly workers: number;
  readonly concurrency: number;
  readonly jobs: number;
  /** Jobs still not started when the run stopped waiting: their age then stands in for their latency. */
  readonly notStarted: number;
  /** Job created (create_time) to handler started, in ms. */
  readonly startP50Ms: number;
  readonly startP99Ms: number;
  readonly startMaxMs: number;
  /** Job created to dispatched to Redis (its `queued` event), in ms: the dispatcher's share. */
  readonly dispatchP50Ms: number;
  readonly dispatchP99Ms: number;
}

export interface BacklogSample {
  /** Since the first enqueue call, in ms. */
  readonly atMs: number;
  readonly enqueued: number;
  readonly pending: number;
  readonly queued: number;
  readonly succeeded: number;
  /** Age of the oldest job not yet handed to Redis: how far dispatch lags. */
  readonly oldestPendingMs: number;
  /** Age of the oldest job not yet started (pending or queued): how long a new job would wait. */
  readonly oldestWaitingMs: number;
}

export interface BacklogResult {
  readonly dialect: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly workers: number;
  readonly concurrency: number;
  readonly enqueued: number;
  /** From the first enqueue call until every job succeeded; undefined if it did not drain in time. */
  readonly drainedAfterMs: number | undefined;
  readonly maxOldestPendingMs: number;
  readonly maxOldestWaitingMs: number;
  readonly samples: BacklogSample[];
}

const LATENCY_WORKERS = { workers: 1, concurrency: 10 } as const;

/** Enqueues `bench.latency` jobs one per call at `ratePerSecond`; each handler answers when it started. */
export async function runLatency(
  context: RunContext,
  ratePerSecond: number,
  durationMs: number,
  waitMs: number,
): Promise<LatencyResult> {
  const { db, dataService, loadGenerator } = context;
  const workers = await startWorkers(context.setup, dataService, LATENCY_WORKERS.workers, LATENCY_WORKERS.concurrency);
  try {
    const enqueued = await loadGenerator.request<EnqueueResult>(
      { kind: 'paced', address: dataService.address, jobType: LATENCY_TYPE, ratePerSecond, durationMs, batchSize: 1 },
      durationMs + 60_000,
    );
    if (enqueued.errors > 0)
      context.log(`  ${enqueued.errors} enqueue calls failed, the first: ${enqueued.firstError}`);
    await waitForFinished(db, () => enqueued.accepted, Date.now() + waitMs);
    const now = Date.now();
    const jobs = await db.query('SELECT id, created_at, result FROM jobs WHERE type = $1', [LATENCY_TYPE]);
    const events = await db.query(
      "SELECT e.job_id, MIN(e.created_at) AS queued_at FROM job_events e WHERE e.to_state = 'queued' GROUP BY e.job_id",
    );
    const queuedAt = new Map(events.map((row) => [String(row['job_id']), toDate(row['queued_at'])?.getTime()]));
    const start: number[] = [];
    const dispatch: number[] = [];
    let notStarted = 0;
    for (const job of jobs) {
      const created = toDate(job['created_at'])?.getTime();
      if (created === undefined) continue;
      const result = JSON.parse(typeof job['result'] === 'string' ? job['result'] : '{}') as { startedAt?: number };
      // A job that has not started yet counts with its age so far: a lower bound of its latency.
      if (result.startedAt === undefined) notStarted += 1;
      start.push((result.startedAt ?? now) - created);
      const queued = queuedAt.get(String(job['id']));
      if (queued !== undefined) dispatch.push(queued - created);
    }
    return {
      dialect: context.dialect,
      ratePerSecond,
      durationMs,
      ...LATENCY_WORKERS,
      jobs: start.length,
      notStarted,
      startP50Ms: percentile(start, 50),
      startP99Ms: percentile(start, 99),
      startMaxMs: Math.max(...start),
      dispatchP50Ms: percentile(dispatch, 50),
      dispatchP99Ms: percentile(dispatch, 99),
    };
  } finally {
    await stopAllOf(workers);
    await resetJobs(context);
  }
}

async function sample(context: RunContext, since: number): Promise<BacklogSample> {
  const now = Date.now();
  const [row] = await context.db.query(
    `SELECT MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest_pending,
            MIN(CASE WHEN state IN ('pending', 'queued') THEN created_at END) AS oldest_waiting
       FROM jobs`,
  );
  const counts = await countByState(context.db);
  const age = (value: unknown): number => {
    const date = toDate(value);
    return date ? Math.max(0, now - date.getTime()) : 0;
  };
  return {
    atMs: now - since,
    enqueued: Object.values(counts).reduce((sum, count) => sum + count, 0),
    pending: counts['pending'] ?? 0,
    queued: counts['queued'] ?? 0,
    succeeded: counts['succeeded'] ?? 0,
    oldestPendingMs: age(row?.['oldest_pending']),
    oldestWaitingMs: age(row?.['oldest_waiting']),
  };
}

/**
 * Enqueues no-op jobs at `ratePerSecond` (above what one worker at concurrency 10 finishes) for
 * `durationMs`, sampling every `sampleMs` how old the oldest waiting job is, until the backlog drains
 * or `drainTimeoutMs` after the last enqueue.
 */
export async function runBacklog(
  context: RunContext,
  ratePerSecond: number,
  durationMs: number,
  sampleMs: number,
  drainTimeoutMs: number,
): Promise<BacklogResult> {
  const { db, dataService, loadGenerator } = context;
  const workers = await startWorkers(context.setup, dataService, LATENCY_WORKERS.workers, LATENCY_WORKERS.concurrency);
  try {
    const batchSize = Math.max(1, Math.min(100, Math.round(ratePerSecond / 20)));
    let enqueued: EnqueueResult | undefined;
    let failure: unknown;
    const since = Date.now();
    const enqueueing = loadGenerator
      .request<EnqueueResult>(
        { kind: 'paced', address: dataService.address, jobType: NOOP_TYPE, ratePerSecond, durationMs, batchSize },
        durationMs + 60_000,
      )
      .then(
        (result) => (enqueued = result),
        (error: unknown) => (failure = error),
      );
    const samples: BacklogSample[] = [];
    let drainedAfterMs: number | undefined;
    let drainDeadline = Number.POSITIVE_INFINITY;
    for (;;) {
      await sleep(sampleMs - ((Date.now() - since) % sampleMs));
      if (failure !== undefined) throw asError(failure);
      const current = await sample(context, since);
      samples.push(current);
      if (enqueued) {
        drainDeadline = Math.min(drainDeadline, Date.now() + drainTimeoutMs);
        if (current.succeeded >= enqueued.accepted) {
          drainedAfterMs = (await lastFinishedAt(db)) - since;
          break;
        }
        if (Date.now() > drainDeadline) break;
      }
    }
    await enqueueing;
    return {
      dialect: context.dialect,
      ratePerSecond,
      durationMs,
      ...LATENCY_WORKERS,
      enqueued: enqueued.accepted,
      drainedAfterMs,
      maxOldestPendingMs: Math.max(...samples.map((entry) => entry.oldestPendingMs)),
      maxOldestWaitingMs: Math.max(...samples.map((entry) => entry.oldestWaitingMs)),
      samples,
    };
  } finally {
    await stopAllOf(workers);
    await resetJobs(context);
  }
}
