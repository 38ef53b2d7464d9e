/**
 * `npm run bench`: starts everything it measures (its own PostgreSQL database, SQLite file and Redis key
 * prefix; the compiled services as child processes), runs the CRUD, jobs, latency and memory parts on
 * PostgreSQL and on SQLite, prints one table and writes bench/results/latest.json and BENCHMARKS.md.
 * `--suite crud` runs the CRUD part alone, `--suite jobs` the others.
 * Whatever happens (failure, Ctrl-C), every child is stopped and the database dropped.
 *
 *   npm run bench [-- --quick] [--jobs N] [--crud-seconds S] [--only postgres|sqlite] [--suite crud|jobs]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CRUD_METHODS, IN_FLIGHT, runCrud, startBareServer, type CrudRow } from './crud';
import {
  BENCH_NAME,
  createBenchDatabase,
  deleteRedisKeys,
  postgresVersion,
  REDIS_PREFIX,
  redisServer,
  sweepLeftovers,
  type BenchDatabase,
  type Dialect,
} from './databases';
import { createBareRunner, runJobs, type BareRunner, type RunContext, type TandemJobsRow } from './jobs';
import { runBacklog, runLatency, type BacklogResult, type LatencyResult } from './latency';
import { parseOptions, type Options } from './options';
import {
  cpuSeconds,
  DIST,
  isReady,
  killAllNow,
  loggedWarnings,
  machineCpuSeconds,
  peakRssBytes,
  ROOT,
  rssBytes,
  spawnNode,
  stopAll,
  type Child,
} from './processes';
import { printReport, writeReports, type Meta, type MemoryRow, type Results } from './report';
import { sleep } from './stats';
import { phasesNote, scalingNote, targets } from './summary';
import { seed, startDataService, type DataService, type TandemSetup } from './tandem';

const LATENCY_RATE = 100;
/** The backlog run enqueues this many times faster than one worker at concurrency 10 finished jobs. */
const BACKLOG_OVERLOAD = 2;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface JobsResults {
  readonly jobs: TandemJobsRow[];
  readonly latency: LatencyResult;
  readonly backlog: BacklogResult | undefined;
  readonly memory: MemoryRow;
}

interface DatabaseResults {
  readonly crud: CrudRow[];
  /** Absent when the run is `--suite crud`. */
  readonly jobs: JobsResults | undefined;
}

const cleanups: Array<() => Promise<unknown>> = [];
let cleaning: Promise<void> | undefined;
let scratchDir = '';

/** Stops every child, drops the database, deletes the Redis keys and the temp folder; runs once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll().catch((error: unknown) => log(`cleanup: stopping children failed: ${String(error)}`));
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    }
    await deleteRedisKeys().catch((error: unknown) => log(`cleanup: Redis keys: ${String(error)}`));
    if (scratchDir) fs.rmSync(scratchDir, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;

function onSignal(signal: NodeJS.Signals, code: number): void {
  process.on(signal, () => {
    interrupted = true;
    if (cleaning) {
      log(`${signal} again: killing the children now; the database ${BENCH_NAME} may be left behind`);
      killAllNow();
      process.exit(code);
    }
    log(`${signal}: stopping the children and dropping the bench database...`);
    void cleanUp().finally(() => process.exit(code));
  });
}

async function machineBusyNow(sampleMs: number): Promise<number> {
  const before = machineCpuSeconds();
  await sleep(sampleMs);
  const after = machineCpuSeconds();
  return (after.busy - before.busy) / Math.max(1e-9, after.total - before.total);
}

function checkBuilt(): void {
  for (const file of ['services/data/src/main.js', 'bench/noop-worker-main.js', 'bench/load-generator.js']) {
    if (!fs.existsSync(path.join(DIST, file))) {
      throw new Error(`dist/${file} is missing: run \`npm run bench\` (its prebench step builds dist/)`);
    }
  }
}

/**
 * Twice what one worker at concurrency 10 finished in the jobs runs, and at least 1.5 times the latency
 * run's rate: either way more than the workers keep up with.
 */
function backlogRate(jobs: readonly TandemJobsRow[]): number {
  const single = jobs.filter((row) => row.workers === 1);
  const reference = single.find((row) => row.concurrency === 10) ?? single[0];
  return Math.round(Math.max(BACKLOG_OVERLOAD * (reference?.jobsPerSecond ?? 0), 1.5 * LATENCY_RATE));
}

/** Estimated time of the parts of a database's section that come after its jobs runs. */
function afterJobsMs(options: Options, dialect: Dialect): number {
  const backlog = options.backlog.includes(dialect) ? options.backlogMs + options.backlogDrainMs + 3000 : 0;
  return options.latencyMs + options.latencyWaitMs + 3000 + backlog + 5000;
}

/** Estimated time of a whole database section except its jobs runs. */
function sectionMs(options: Options, dialect: Dialect): number {
  const crudPoints = options.suites.includes('crud') ? CRUD_METHODS.length * IN_FLIGHT.length * 2 : 0;
  const afterJobs = options.suites.includes('jobs') ? afterJobsMs(options, dialect) : 0;
  return 15_000 + crudPoints * (options.warmupMs + options.crudMs + 100) + afterJobs;
}

/**
 * The cap of the next jobs run: its share of the time left before the deadline once the fixed parts still
 * to come are set aside, within 5 s and the configured cap.
 */
function jobsCap(options: Options, deadline: number, dialect: Dialect): (runsLeft: number) => number {
  const later = options.databases.slice(options.databases.indexOf(dialect) + 1);
  const reserve = afterJobsMs(options, dialect) + later.reduce((sum, next) => sum + sectionMs(options, next), 0);
  const laterRuns = later.reduce((sum, next) => sum + options.matrix[next].length, 0);
  const overheadPerRun = 4000;
  return (runsLeft) => {
    const share = (deadline - Date.now() - reserve) / (runsLeft + laterRuns) - overheadPerRun;
    return Math.round(Math.max(5000, Math.min(options.jobsCapMs[dialect], share)));
  };
}

async function runDatabaseCrud(
  dialect: Dialect,
  options: Options,
  dataService: DataService,
  loadGenerator: Child,
  db: BenchDatabase,
): Promise<CrudRow[]> {
  log(`[${dialect}] seeding ${options.users} users with ${options.ordersPerUser} orders each through Tandem`);
  const userIds = await seed(dataService.address, options.users, options.ordersPerUser);
  const bareServer = await startBareServer(db.url);
  log(`[${dialect}] CRUD: ${options.crudMs / 1000} s per point after ${options.warmupMs / 1000} s of warm-up`);
  const crud = await runCrud({
    dialect,
    loadGenerator,
    tandem: { address: dataService.address, pid: dataService.child.pid },
    bare: { address: bareServer.address, pid: bareServer.child.pid },
    userIds,
    warmupMs: options.warmupMs,
    durationMs: options.crudMs,
    log,
  });
  await bareServer.child.stop();
  return crud;
}

async function runDatabaseJobs(
  context: RunContext,
  options: Options,
  deadline: number,
  bare: BareRunner,
  dataServiceIdle: number,
): Promise<JobsResults> {
  const { dialect, dataService } = context;
  const jobCount = options.jobs[dialect];
  log(
    `[${dialect}] jobs: ${jobCount} no-op jobs per run, each cut short after at most ${options.jobsCapMs[dialect] / 1000} s`,
  );
  const jobs = await runJobs(context, options.matrix[dialect], jobCount, jobsCap(options, deadline, dialect), bare);
  const dataServiceAfterJobs = rssBytes(dataService.child.pid) ?? 0;

  log(`[${dialect}] enqueue-to-start latency at ${LATENCY_RATE} jobs/s for ${options.latencyMs / 1000} s`);
  const latency = await runLatency(context, LATENCY_RATE, options.latencyMs, options.latencyWaitMs);
  let backlog: BacklogResult | undefined;
  if (options.backlog.includes(dialect)) {
    const rate = backlogRate(jobs);
    log(`[${dialect}] backlog: ${rate} jobs/s for ${options.backlogMs / 1000} s into 1 worker at concurrency 10`);
    backlog = await runBacklog(context, rate, options.backlogMs, 500, options.backlogDrainMs);
  }
  const memory: MemoryRow = {
    dialect,
    dataServiceIdle,
    dataServiceAfterJobs,
    dataServicePeak: peakRssBytes(dataService.child.pid) ?? 0,
    workerIdle: Math.min(...jobs.map((row) => row.rss.workerIdle)),
    workerAfterJobs: Math.max(0, ...jobs.map((row) => row.rss.workerEnd)),
    workerPeak: Math.max(0, ...jobs.map((row) => row.rss.workerPeak)),
  };
  return { jobs, latency, backlog, memory };
}

async function runDatabase(
  dialect: Dialect,
  options: Options,
  deadline: number,
  loadGenerator: Child,
  redisPids: readonly number[],
  bare: BareRunner,
): Promise<DatabaseResults> {
  const db: BenchDatabase = await createBenchDatabase(dialect);
  cleanups.push(() => db.drop());
  const setup: TandemSetup = { db, redisPrefix: `${REDIS_PREFIX}-${dialect}`, dataDir: scratchDir };
  log(`[${dialect}] starting the data service (migrations run at start)`);
  const dataService = await startDataService(setup);
  await sleep(1000);
  const dataServiceIdle = rssBytes(dataService.child.pid) ?? 0;

  const crud = options.suites.includes('crud')
    ? await runDatabaseCrud(dialect, options, dataService, loadGenerator, db)
    : [];
  const context: RunContext = { dialect, db, setup, dataService, loadGenerator, redisPids, log };
  const jobs = options.suites.includes('jobs')
    ? await runDatabaseJobs(context, options, deadline, bare, dataServiceIdle)
    : undefined;
  await dataService.child.stop(15_000);
  await db.drop();
  return { crud, jobs };
}

async function main(): Promise<void> {
  const started = Date.now();
  const args = process.argv.slice(2);
  const options = parseOptions(args);
  checkBuilt();
  for (const leftover of await sweepLeftovers())
    log(`removed a leftover of an earlier bench that was killed: ${leftover}`);
  const machineBusyBefore = await machineBusyNow(1000);
  const loadAverageBefore = os.loadavg();
  scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), `${REDIS_PREFIX}-`));
  const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const redis = await redisServer();
  // Redis's CPU time is readable when it runs in this machine's process namespace (a container may hide it).
  const redisPids = redis.pid !== undefined && cpuSeconds(redis.pid) > 0 ? [redis.pid] : [];
  const versions = {
    node: process.version,
    tandem: packageJson.version,
    postgres: options.databases.includes('postgres') ? await postgresVersion() : 'not used',
    redis: redis.version,
  };
  const cpus = os.cpus();
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const nodeCommand = ['node', ...process.execArgv, path.relative(ROOT, process.argv[1] ?? ''), ...args].join(' ');
  log(`${command}: ${cpus.length} CPUs (${cpus[0]?.model ?? 'unknown'}), Node ${versions.node}, ${options.mode} mode`);

  const loadGenerator = spawnNode('load generator', path.join(DIST, 'bench/load-generator.js'));
  await loadGenerator.waitForMessage(isReady, 30_000);
  const bare = createBareRunner(log, redisPids);
  const perDatabase: DatabaseResults[] = [];
  for (const dialect of options.databases) {
    perDatabase.push(await runDatabase(dialect, options, started + options.budgetMs, loadGenerator, redisPids, bare));
  }
  await bare.close();
  await loadGenerator.stop();

  const crud = perDatabase.flatMap((entry) => entry.crud);
  const jobsParts = perDatabase.flatMap((entry) => (entry.jobs ? [entry.jobs] : []));
  const jobs = jobsParts.flatMap((entry) => entry.jobs);
  const latency = jobsParts.map((entry) => entry.latency);
  const backlog = jobsParts.flatMap((entry) => (entry.backlog ? [entry.backlog] : []));
  const memory = jobsParts.map((entry) => entry.memory);
  const warnings = [...loggedWarnings()].map(
    ([message, { count, firstError }]) => `${message} (x${count}${firstError ? `; first error: ${firstError}` : ''})`,
  );
  const meta: Meta = {
    date: new Date().toISOString(),
    command,
    nodeCommand,
    mode: options.mode,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    os: `${os.type()} ${os.release()}`,
    versions,
    loadAverageBefore,
    loadAverageAfter: os.loadavg(),
    machineBusyBefore,
    settings: { ...options },
    durationSeconds: (Date.now() - started) / 1000,
  };
  const results: Results = {
    meta,
    crud,
    jobs,
    bare: bare.all(),
    latency,
    backlog,
    memory,
    scaling: scalingNote(jobs, bare.all(), cpus.length),
    targets: targets(crud, jobs, bare.all(), latency, memory),
    notes: [
      ...phasesNote(jobs, bare.all()),
      ...options.notes,
      ...(options.suites.includes('crud')
        ? [
            `CRUD: closed loop from one separate load-generator process (grpc-js, generated clients), ${options.crudMs / 1000} s ` +
              `per point after ${options.warmupMs / 1000} s of warm-up; Tandem and the bare server take turns point by point.`,
          ]
        : []),
      ...(options.suites.includes('jobs')
        ? [
            'Jobs: from the first enqueue call to the last job recorded `succeeded` (Tandem) or finished in Redis (bare); ' +
              'workers run before the first enqueue. Enqueue-to-start: job create_time to the handler start ' +
              '(dispatch: create_time to its `queued` event).',
          ]
        : []),
      ...(warnings.length > 0 ? [`Warnings the services logged: ${warnings.join('; ')}.`] : []),
    ],
  };
  process.stdout.write(`\n${printReport(results)}\n`);
  const written = await writeReports(results);
  log(`\nwrote ${path.relative(ROOT, written.json)} and ${path.relative(ROOT, written.markdown)}`);
}

onSignal('SIGINT', 130);
onSignal('SIGTERM', 143);
process.on('exit', killAllNow);

main().then(
  () => cleanUp().then(() => process.exit(0)),
  (error: unknown) => {
    // After Ctrl-C the children die first and main fails because of it: the signal handler exits.
    if (interrupted) return;
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void cleanUp().finally(() => process.exit(1));
  },
);
