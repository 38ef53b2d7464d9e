/** The bench's command line, and the matrix it chooses so that a full run fits in 10 minutes. */
import type { Dialect } from './databases';
import { BARE_RUNS, type JobsPoint } from './jobs';
import { CHILD_NODE_ENV } from './processes';
import { SERVICE_LOG_LEVEL } from './tandem';

/** crud: GetUser, ListUsers and CreateOrder beside the bare server; jobs: end to end, latency, backlog, memory. */
export type Suite = 'crud' | 'jobs';

export interface Options {
  readonly mode: 'full' | 'quick';
  readonly databases: readonly Dialect[];
  readonly suites: readonly Suite[];
  readonly jobs: Readonly<Record<Dialect, number>>;
  readonly matrix: Readonly<Record<Dialect, readonly JobsPoint[]>>;
  /** A jobs run stops waiting after this long (jobs/s is then what succeeded by then over the time taken). */
  readonly jobsCapMs: Readonly<Record<Dialect, number>>;
  /** The run (after the build) must end within this; jobs runs get shorter caps when it falls behind. */
  readonly budgetMs: number;
  readonly warmupMs: number;
  readonly crudMs: number;
  readonly users: number;
  readonly ordersPerUser: number;
  readonly latencyMs: number;
  /** How long the latency run waits for its last jobs to start once enqueueing is over. */
  readonly latencyWaitMs: number;
  readonly backlog: readonly Dialect[];
  readonly backlogMs: number;
  readonly backlogDrainMs: number;
  readonly notes: readonly string[];
}

const USAGE = `usage: npm run bench -- [--quick] [--jobs N] [--crud-seconds S] [--only postgres|sqlite] [--suite crud|jobs]
  --quick           small numbers, for development (1 s per CRUD point, 1,000 jobs per run)
  --jobs N          no-op jobs per end-to-end run (default 20,000; 1,000 with --quick)
  --crud-seconds S  measured seconds per CRUD point (default 4; 1 with --quick)
  --only DB         run one database only
  --suite S         run one part only: crud (GetUser, ListUsers, CreateOrder beside the bare server) or
                    jobs (jobs end to end beside bare bee-queue, enqueue-to-start latency, backlog, memory)`;

/** PostgreSQL gets the full matrix: both enqueue variants, concurrency 10 and 50, 1 to 3 workers. */
const POSTGRES_MATRIX: readonly JobsPoint[] = [
  { variant: 'batch', workers: 1, concurrency: 10 },
  { variant: 'batch', workers: 1, concurrency: 50 },
  { variant: 'batch', workers: 2, concurrency: 50 },
  { variant: 'batch', workers: 3, concurrency: 10 },
  { variant: 'batch', workers: 3, concurrency: 50 },
  { variant: 'enqueue', workers: 3, concurrency: 50 },
];

/** SQLite (one writer at a time, far slower per job) gets a reduced one to fit the time budget. */
const SQLITE_MATRIX: readonly JobsPoint[] = [
  { variant: 'batch', workers: 1, concurrency: 50 },
  { variant: 'batch', workers: 3, concurrency: 50 },
  { variant: 'enqueue', workers: 3, concurrency: 50 },
];

/** A full run's own time (the build before it takes about 40 s more): well under 10 minutes in all. */
const BUDGET_MS = 510_000;

function positive(flag: string, value: string | undefined): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${flag} needs a positive number\n${USAGE}`);
  return number;
}

export function parseOptions(args: readonly string[]): Options {
  let quick = false;
  let jobs: number | undefined;
  let crudSeconds: number | undefined;
  let databases: Dialect[] = ['postgres', 'sqlite'];
  let suites: Suite[] = ['crud', 'jobs'];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    switch (arg) {
      case '--quick':
        quick = true;
        break;
      case '--jobs':
        jobs = Math.round(positive(arg, args[++index]));
        break;
      case '--crud-seconds':
        crudSeconds = positive(arg, args[++index]);
        break;
      case '--only': {
        const only = args[++index];
        if (only !== 'postgres' && only !== 'sqlite') throw new Error(`--only takes postgres or sqlite\n${USAGE}`);
        databases = [only];
        break;
      }
      case '--suite': {
        const suite = args[++index];
        if (suite !== 'crud' && suite !== 'jobs') throw new Error(`--suite takes crud or jobs\n${USAGE}`);
        suites = [suite];
        break;
      }
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${String(arg)}\n${USAGE}`);
    }
  }
  const postgresJobs = jobs ?? (quick ? 1000 : 20_000);
  const sqliteJobs = jobs ?? (quick ? 1000 : 20_000);
  return {
    mode: quick ? 'quick' : 'full',
    databases,
    suites,
    jobs: { postgres: postgresJobs, sqlite: sqliteJobs },
    matrix: { postgres: POSTGRES_MATRIX, sqlite: SQLITE_MATRIX },
    jobsCapMs: quick ? { postgres: 8000, sqlite: 8000 } : { postgres: 20_000, sqlite: 15_000 },
    budgetMs: quick ? Number.POSITIVE_INFINITY : BUDGET_MS,
    warmupMs: quick ? 300 : 500,
    crudMs: 1000 * (crudSeconds ?? (quick ? 1 : 4)),
    users: quick ? 30 : 100,
    ordersPerUser: quick ? 1 : 2,
    latencyMs: quick ? 3000 : 10_000,
    latencyWaitMs: quick ? 5000 : 10_000,
    backlog: quick ? ['postgres', 'sqlite'] : ['postgres'],
    backlogMs: quick ? 2000 : 5000,
    backlogDrainMs: quick ? 8000 : 15_000,
    notes: [
      `Every process the bench starts runs with NODE_ENV=${CHILD_NODE_ENV}, as deployed (Tandem then reads ` +
        `config/production.json: a pool of 20 connections). Tandem's services log at ${SERVICE_LOG_LEVEL}, not at ` +
        'their default info, at which a worker writes a line for every job: bare bee-queue logs nothing.',
      ...(suites.includes('jobs')
        ? [
            `Matrix: PostgreSQL runs every jobs point (${postgresJobs} jobs each); SQLite a reduced one ` +
              `(BatchEnqueue c50 with 1 and 3 workers, Enqueue c50 with 3 workers; ${sqliteJobs} jobs each)` +
              `${quick ? '' : ' and no backlog run'}, to fit 10 minutes. Each jobs run (Tandem or bare) is cut short ` +
              `after ${(quick ? 8000 : 20_000) / 1000} s on PostgreSQL and ${(quick ? 8000 : 15_000) / 1000} s on SQLite ` +
              `(less when the run would overrun its ${BUDGET_MS / 1000} s budget; bare runs after at most 10 s); ` +
              `a cut-short figure is the jobs done by then over the time they took. Bare bee-queue runs ${BARE_RUNS} times per ` +
              '(workers, concurrency, jobs) shape, just before the first Tandem run of that shape; the median run is its ' +
              'figure, and serves both databases.',
          ]
        : []),
    ],
  };
}
