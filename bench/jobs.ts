/**
 * Parts 2 and 5: N no-op jobs enqueued over gRPC and run by Tandem workers until every one is recorded
 * `succeeded` in the database, beside bare bee-queue moving N no-op jobs with the same number of worker
 * processes and the same concurrency.
 */
import path from 'node:path';
import { deleteRedisKeys, REDIS_PREFIX, REDIS_URL, type BenchDatabase, type Dialect } from './databases';
import {
  cpuSeconds,
  DIST,
  isReady,
  machineCpuSeconds,
  peakRssBytes,
  rssBytes,
  spawnNode,
  type Child,
} from './processes';
import { asError, isObject, type EnqueueResult, type ProduceResult, type ProgressMessage } from './protocol';
import { toDate } from './sqlite';
import { percentile, sleep } from './stats';
import { NOOP_TYPE, startWorkers, stopAllOf, type DataService, type TandemSetup } from './tandem';

export type EnqueueVariant = 'batch' | 'enqueue';

export interface JobsPoint {
  readonly variant: EnqueueVariant;
  readonly workers: number;
  readonly concurrency: number;
}

/** BatchEnqueue: batches of 500, a few in flight; Enqueue: one job per call, many in flight. */
export const ENQUEUE_SHAPE: Readonly<Record<EnqueueVariant, { batchSize: number; inFlight: number }>> = {
  batch: { batchSize: 500, inFlight: 4 },
  enqueue: { batchSize: 1, inFlight: 64 },
};
/** Bare bee-queue saves in batches of the same size, as many at once. */
const BARE_SHAPE = ENQUEUE_SHAPE.batch;
/**
 * How often a run asks the database how many jobs finished. Each ask counts every row of the jobs table,
 * which costs PostgreSQL CPU the jobs need: at 200 ms it took about a tenth of a core. The figures come
 * from the finish times recorded in the rows, so a slower poll only ends a run a little later.
 */
const POLL_MS = 1000;

export interface RunContext {
  readonly dialect: Dialect;
  readonly db: BenchDatabase;
  readonly setup: TandemSetup;
  readonly dataService: DataService;
  readonly loadGenerator: Child;
  /** The Redis server's process, when it runs on this machine (it is shared with anyone else using it). */
  readonly redisPids: readonly number[];
  readonly log: (line: string) => void;
}

export interface Usage {
  /** Cores used on average during the run (CPU seconds per second), per process group. */
  readonly cores: Readonly<Record<string, number>>;
  /**
   * The most cores each group of fixed processes used in any PEAK_WINDOW_MS of the run: a single-threaded
   * process near 1 was saturated for a while, whatever its average.
   */
  readonly peakCores: Readonly<Record<string, number>>;
  /** Share of the whole machine's CPU time that was busy in its busiest PEAK_WINDOW_MS of the run. */
  readonly machinePeakBusy: number;
  /**
   * The same in the run's median PEAK_WINDOW_MS: the steady state, which the average understates by
   * counting the ramp-up and the last poll's wait.
   */
  readonly machineMedianBusy: number;
  /** Share of the whole machine's CPU time that was busy during the run, 0 to 1. */
  readonly machineBusy: number;
}

export interface TandemJobsRow extends JobsPoint {
  readonly dialect: Dialect;
  readonly jobs: number;
  readonly succeeded: number;
  readonly jobsPerSecond: number;
  /** First enqueue call to the last `succeeded` recorded. */
  readonly elapsedMs: number;
  /** First enqueue call to the last one answered. */
  readonly enqueueMs: number;
  /** Jobs that succeeded before the last enqueue call was answered. */
  readonly succeededWhileEnqueueing: number;
  /** Jobs that succeeded in each second from the first enqueue call on: how the run ramps up and settles. */
  readonly succeededPerSecond: readonly number[];
  readonly enqueued: number;
  /** Enqueue calls that failed (their jobs are missing from `enqueued`). */
  readonly enqueueErrors: number;
  /** Jobs that failed for good (a no-op should never). */
  readonly dead: number;
  /** Cut short by the time cap before every job succeeded. */
  readonly capped: boolean;
  readonly capMs: number;
  readonly usage: Usage;
  readonly rss: {
    readonly dataService: number;
    readonly workerIdle: number;
    readonly workerEnd: number;
    readonly workerPeak: number;
  };
}

export interface BareJobsRow {
  readonly workers: number;
  readonly concurrency: number;
  readonly jobs: number;
  readonly jobsPerSecond: number;
  readonly elapsedMs: number;
  readonly done: number;
  readonly capped: boolean;
  readonly usage: Usage;
  readonly workerRss: number;
  /** Jobs/s of every run of this shape, in the order they ran; this row is the median run. */
  readonly runs: readonly number[];
}

/** The processes of a group: fixed, or looked up at the start and at the end (database backends come and go). */
export type PidSource = readonly number[] | (() => Promise<readonly number[]>);

async function pidsOf(source: PidSource): Promise<readonly number[]> {
  return typeof source === 'function' ? source() : source;
}

/** The window of `Usage.peakCores`: /proc counts CPU time in hundredths of a second, so a window reads in steps of 0.04 core. */
export const PEAK_WINDOW_MS = 250;

function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/**
 * Samples the CPU use of the machine and of groups of fixed processes every PEAK_WINDOW_MS until stopped;
 * answers the most cores each group used in one window, and how busy the machine was in each window.
 */
function samplePeaks(groups: ReadonlyArray<readonly [string, readonly number[]]>): () => {
  readonly peakCores: Readonly<Record<string, number>>;
  readonly machineWindows: readonly number[];
} {
  const peakCores: Record<string, number> = Object.fromEntries(groups.map(([name]) => [name, 0]));
  const machineWindows: number[] = [];
  let lastAt = performance.now();
  let last = groups.map(([, pids]) => cpuSecondsOf(pids));
  let lastMachine = machineCpuSeconds();
  const timer = setInterval(() => {
    const at = performance.now();
    const now = groups.map(([, pids]) => cpuSecondsOf(pids));
    const machine = machineCpuSeconds();
    groups.forEach(([name], index) => {
      const cores = ((now[index] ?? 0) - (last[index] ?? 0)) / ((at - lastAt) / 1000);
      peakCores[name] = Math.max(peakCores[name] ?? 0, cores);
    });
    const total = machine.total - lastMachine.total;
    if (total > 0) machineWindows.push((machine.busy - lastMachine.busy) / total);
    lastAt = at;
    last = now;
    lastMachine = machine;
  }, PEAK_WINDOW_MS);
  return () => {
    clearInterval(timer);
    return { peakCores, machineWindows };
  };
}

/**
 * Measures CPU use of named process groups from now until the returned function is called. A process
 * that appears in between counts all its CPU time; one that is gone by the end counts none.
 */
export async function startUsage(groups: Readonly<Record<string, PidSource>>): Promise<() => Promise<Usage>> {
  const before = new Map<string, Map<number, number>>();
  for (const [name, source] of Object.entries(groups)) {
    before.set(name, new Map((await pidsOf(source)).map((pid) => [pid, cpuSeconds(pid)])));
  }
  const stopSampling = samplePeaks(
    Object.entries(groups).flatMap(([name, source]) => (typeof source === 'function' ? [] : [[name, source] as const])),
  );
  const machineBefore = machineCpuSeconds();
  const started = Date.now();
  return async () => {
    const { peakCores, machineWindows } = stopSampling();
    const seconds = (Date.now() - started) / 1000;
    const machineAfter = machineCpuSeconds();
    const cores: Record<string, number> = {};
    for (const [name, source] of Object.entries(groups)) {
      const start = before.get(name) ?? new Map<number, number>();
      const pids = new Set([...start.keys(), ...(await pidsOf(source))]);
      let used = 0;
      for (const pid of pids) {
        const now = cpuSeconds(pid);
        if (now > 0) used += Math.max(0, now - (start.get(pid) ?? 0));
      }
      cores[name] = used / seconds;
    }
    const machineBusy =
      (machineAfter.busy - machineBefore.busy) / Math.max(1e-9, machineAfter.total - machineBefore.total);
    return {
      cores,
      peakCores,
      machinePeakBusy: Math.max(0, ...machineWindows),
      // A run shorter than one window has no median of its own: its average stands in.
      machineMedianBusy: machineWindows.length > 0 ? percentile(machineWindows, 50) : machineBusy,
      machineBusy,
    };
  };
}

function maxOf(values: ReadonlyArray<number | undefined>): number {
  return Math.max(0, ...values.map((value) => value ?? 0));
}

/** Counts jobs by state in the bench's database. */
export async function countByState(db: BenchDatabase): Promise<Record<string, number>> {
  const rows = await db.query('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state');
  return Object.fromEntries(rows.map((row) => [String(row['state']), Number(row['n'])]));
}

/**
 * Waits until `expected()` jobs are finished, succeeded or dead (or until `deadline`). `expected` may
 * change while the jobs are still being enqueued. Answers the counts by state at the end.
 */
export async function waitForFinished(
  db: BenchDatabase,
  expected: () => number | undefined,
  deadline: number,
): Promise<Record<string, number>> {
  for (;;) {
    const counts = await countByState(db);
    const target = expected();
    if (target !== undefined && (counts['succeeded'] ?? 0) + (counts['dead'] ?? 0) >= target) return counts;
    if (Date.now() > deadline) return counts;
    await sleep(POLL_MS);
  }
}

/** The time the last job was recorded finished, from the database. */
export async function lastFinishedAt(db: BenchDatabase): Promise<number> {
  const [row] = await db.query('SELECT MAX(finished_at) AS t FROM jobs');
  return toDate(row?.['t'])?.getTime() ?? Date.now();
}

/**
 * Deletes every job, in the database and in Redis (what a run cut short left), so that the next run starts
 * from the same empty tables and queues. Call it with no worker running.
 */
export async function resetJobs(context: RunContext): Promise<void> {
  await context.db.clearJobs();
  await deleteRedisKeys(`${context.setup.redisPrefix}:`);
}

/** When each job that succeeded so far finished, in ms since the epoch. */
async function succeededFinishTimes(db: BenchDatabase): Promise<number[]> {
  const rows = await db.query("SELECT finished_at AS t FROM jobs WHERE state = 'succeeded'");
  return rows.flatMap((row) => {
    const at = toDate(row['t'])?.getTime();
    return at === undefined ? [] : [at];
  });
}

/**
 * How the finish times fall from the run's first enqueue call on: how many in each second, and how many
 * before the last enqueue call was answered.
 */
function succeededOverTime(
  finishTimes: readonly number[],
  enqueued: EnqueueResult,
): { perSecond: number[]; whileEnqueueing: number } {
  const perSecond: number[] = [];
  let whileEnqueueing = 0;
  for (const at of finishTimes) {
    if (at <= enqueued.endedAt) whileEnqueueing += 1;
    const second = Math.max(0, Math.floor((at - enqueued.startedAt) / 1000));
    while (perSecond.length <= second) perSecond.push(0);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  }
  return { perSecond, whileEnqueueing };
}

/**
 * One end-to-end run of `jobs` no-op jobs through Tandem, cut short after `capMs`: the figure is then the
 * jobs that succeeded by the cap over the time they took, and the rest is thrown away.
 */
export async function runTandemJobs(
  context: RunContext,
  point: JobsPoint,
  jobs: number,
  capMs: number,
): Promise<TandemJobsRow> {
  const { db, dataService, loadGenerator } = context;
  const workers = await startWorkers(context.setup, dataService, point.workers, point.concurrency);
  try {
    const workerIdle = maxOf(workers.map((worker) => rssBytes(worker.pid)));
    const usage = await startUsage({
      dataService: [dataService.child.pid],
      workers: workers.map((worker) => worker.pid),
      loadGenerator: [loadGenerator.pid],
      database: () => context.db.serverPids(),
      redis: context.redisPids,
    });
    const shape = ENQUEUE_SHAPE[point.variant];
    let enqueued: EnqueueResult | undefined;
    let enqueueFailure: unknown;
    const enqueueing = loadGenerator
      .request<EnqueueResult>(
        { kind: 'enqueue', address: dataService.address, jobType: NOOP_TYPE, jobs, maxDurationMs: capMs, ...shape },
        capMs + 60_000,
      )
      .then(
        (result) => (enqueued = result),
        (error: unknown) => (enqueueFailure = error),
      );
    const deadline = Date.now() + capMs;
    const counts = await waitForFinished(
      db,
      () => {
        if (enqueueFailure !== undefined) throw asError(enqueueFailure);
        return enqueued?.accepted;
      },
      deadline,
    );
    // Read once, at the cut: the count, the last finish and the phases all describe the same jobs.
    const finishTimes = await succeededFinishTimes(db);
    const endUsage = await usage();
    const rss = {
      dataService: rssBytes(dataService.child.pid) ?? 0,
      workerIdle,
      workerEnd: maxOf(workers.map((worker) => rssBytes(worker.pid))),
      workerPeak: maxOf(workers.map((worker) => peakRssBytes(worker.pid))),
    };
    await enqueueing;
    if (!enqueued) throw new Error(`enqueueing failed: ${String(enqueueFailure)}`);
    if (enqueued.errors > 0)
      context.log(`  ${enqueued.errors} enqueue calls failed, the first: ${enqueued.firstError}`);
    const dead = counts['dead'] ?? 0;
    if (dead > 0) context.log(`  ${dead} jobs died: see bench/results/latest.json for the services' warnings`);
    const overTime = succeededOverTime(finishTimes, enqueued);
    const succeeded = finishTimes.length;
    const lastAt = finishTimes.reduce<number | undefined>(
      (last, at) => (last === undefined || at > last ? at : last),
      undefined,
    );
    const capped = succeeded + dead < jobs;
    const elapsedMs = Math.max(1, (lastAt ?? Date.now()) - enqueued.startedAt);
    return {
      dialect: context.dialect,
      ...point,
      jobs,
      succeeded,
      jobsPerSecond: (1000 * succeeded) / elapsedMs,
      elapsedMs,
      enqueueMs: enqueued.endedAt - enqueued.startedAt,
      succeededWhileEnqueueing: overTime.whileEnqueueing,
      succeededPerSecond: overTime.perSecond,
      enqueued: enqueued.accepted,
      enqueueErrors: enqueued.errors,
      dead,
      capped,
      capMs,
      usage: endUsage,
      rss,
    };
  } finally {
    await stopAllOf(workers);
    await resetJobs(context);
  }
}

function isProgress(message: unknown): message is ProgressMessage {
  return isObject(message) && message['type'] === 'progress';
}

/**
 * How many times bare bee-queue moves the jobs of each shape. One run lasts a second or two, short
 * enough for a burst of other work on the 2 cores to move it by half; the median of three does not.
 */
export const BARE_RUNS = 3;

/**
 * Bare bee-queue: one producer process and worker processes, measured BARE_RUNS times per (workers,
 * concurrency, jobs); the median run is the figure.
 */
export function createBareRunner(log: (line: string) => void, redisPids: readonly number[]) {
  const prefix = `${REDIS_PREFIX}-bare`;
  const script = path.join(DIST, 'bench/bare-bee-queue.js');
  const measured = new Map<string, BareJobsRow>();
  let producer: Child | undefined;

  async function run(
    workers: number,
    concurrency: number,
    jobs: number,
    capMs: number,
  ): Promise<Omit<BareJobsRow, 'runs'>> {
    if (!producer) {
      producer = spawnNode('bare producer', script, { args: ['producer', REDIS_URL, prefix] });
      await producer.waitForMessage(isReady, 30_000);
    }
    const children = Array.from({ length: workers }, (_unused, index) =>
      spawnNode(`bare worker ${index + 1}`, script, { args: ['worker', REDIS_URL, prefix, String(concurrency)] }),
    );
    let capped = false;
    try {
      const progress = children.map(() => ({ done: 0, lastDoneAt: 0 }));
      children.forEach((child, index) =>
        child.onMessage((message) => {
          if (isProgress(message)) progress[index] = message;
        }),
      );
      await Promise.all(children.map((child) => child.waitForMessage(isReady, 30_000)));
      const usage = await startUsage({
        workers: children.map((child) => child.pid),
        producer: [producer.pid],
        redis: redisPids,
      });
      const produced = await producer.request<ProduceResult>(
        { kind: 'produce', jobs, maxDurationMs: capMs, ...BARE_SHAPE },
        capMs + 60_000,
      );
      const deadline = produced.startedAt + capMs;
      const done = (): number => progress.reduce((sum, entry) => sum + entry.done, 0);
      while (done() < produced.saved && Date.now() < deadline) await sleep(20);
      // Let the last progress messages arrive.
      await sleep(100);
      capped = done() < jobs;
      const elapsedMs = Math.max(1, Math.max(...progress.map((entry) => entry.lastDoneAt)) - produced.startedAt);
      return {
        workers,
        concurrency,
        jobs,
        jobsPerSecond: (1000 * done()) / elapsedMs,
        elapsedMs,
        done: done(),
        capped,
        usage: await usage(),
        workerRss: maxOf(children.map((child) => rssBytes(child.pid))),
      };
    } finally {
      await stopAllOf(children);
      if (capped) await deleteRedisKeys(`${prefix}:`);
    }
  }

  return {
    /** The bare figure for this shape: measured at the first request, then reused. */
    async get(workers: number, concurrency: number, jobs: number, capMs: number): Promise<BareJobsRow> {
      const key = `${workers}x${concurrency}x${jobs}`;
      const known = measured.get(key);
      if (known) return known;
      const rows: Array<Omit<BareJobsRow, 'runs'>> = [];
      for (let index = 0; index < BARE_RUNS; index += 1) rows.push(await run(workers, concurrency, jobs, capMs));
      const median = [...rows].sort((a, b) => a.jobsPerSecond - b.jobsPerSecond)[Math.floor(rows.length / 2)];
      if (!median) throw new Error('bare bee-queue made no run');
      const row = { ...median, runs: rows.map((entry) => entry.jobsPerSecond) };
      measured.set(key, row);
      log(
        `  bare bee-queue ${workers} worker(s) x c${concurrency}: ${Math.round(row.jobsPerSecond)} jobs/s, the median ` +
          `of ${row.runs.map((figure) => Math.round(figure)).join(', ')}` +
          (row.capped ? ` (cut short at ${capMs / 1000} s: ${row.done}/${jobs} done)` : ''),
      );
      return row;
    },
    all: (): BareJobsRow[] => [...measured.values()],
    async close(): Promise<void> {
      await producer?.stop();
    },
  };
}

export type BareRunner = ReturnType<typeof createBareRunner>;

/** Bare bee-queue moves its jobs in a few seconds: it never needs more than this. */
const BARE_CAP_MS = 10_000;

/**
 * Runs each point on Tandem, with its bare counterpart measured just before (the first time it is needed).
 * `capFor(runsLeft)` answers how long the next run may take, from the time left in the bench's budget.
 */
export async function runJobs(
  context: RunContext,
  points: readonly JobsPoint[],
  jobs: number,
  capFor: (runsLeft: number) => number,
  bare: BareRunner,
): Promise<TandemJobsRow[]> {
  const rows: TandemJobsRow[] = [];
  for (const [index, point] of points.entries()) {
    const capMs = capFor(points.length - index);
    const bareRow = await bare.get(point.workers, point.concurrency, jobs, Math.min(capMs, BARE_CAP_MS));
    const row = await runTandemJobs(context, point, jobs, capMs);
    rows.push(row);
    context.log(
      `  ${point.variant === 'batch' ? 'BatchEnqueue' : 'Enqueue'} ${point.workers} worker(s) x c${point.concurrency}: ` +
        `${Math.round(row.jobsPerSecond)} jobs/s (${(row.jobsPerSecond / bareRow.jobsPerSecond).toFixed(2)}x bare)` +
        (row.capped ? ` (cut short at ${capMs / 1000} s: ${row.succeeded}/${jobs} succeeded)` : ''),
    );
  }
  return rows;
}
