import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { JobServiceClient } from '../../proto/gen/tandem/v1/job';
import { JobType, JobTypeServiceClient, Queue } from '../../proto/gen/tandem/v1/job_type';
import { connect, promiseClient, type PromiseClient } from '../support/grpc-client';
import {
  createOwnRedis,
  createProcessPool,
  logEntries,
  startDataProcess,
  startSleepWorker,
  uniquePrefix,
  waitUntil,
  workerStarted,
  type OwnRedis,
} from '../support/processes';
import { freePort, type LogEntry, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const JOBS = 2000;
const CHUNK = 500;
const WORKERS = 3;
const CONCURRENCY = 10;
/**
 * Every second a random ready worker is SIGKILLed and a new one started, as long as another ready worker
 * stays (so that some worker is always mid-job), and not while the data service is down.
 */
const KILL_EVERY_MS = 1000;
const WORKER_KILLS = 10;
const KILLS_WITHIN_MS = 60_000;
/** The data service is killed once this many workers were, and started again this long after. */
const DATA_KILL_AFTER_KILLS = 4;
const DATA_DOWN_MS = 2000;
/** Redis is replaced by an empty one this long after the data service is back. */
const REDIS_KILL_AFTER_DATA_MS = 1000;
const REDIS_DOWN_MS = 500;
/** How long the jobs may take to finish once the chaos is over (generous: a shared 2-core machine is slow). */
const SETTLE_TIMEOUT_MS = 120_000;

const JOB_TYPE = {
  name: 'chaos.sleep',
  queue: 'default' as const,
  maxAttempts: 10,
  backoff: { kind: 'fixed' as const, baseMs: 100, capMs: 100, jitter: 0 },
  timeoutMs: 2000,
};
const DATA_ENV = {
  DISPATCH_INTERVAL_MS: '50',
  DISPATCH_RECONCILE_INTERVAL_MS: '500',
  DISPATCH_RECONCILE_AFTER_MS: '1000',
  DISPATCH_LEASE_SWEEP_INTERVAL_MS: '200',
  JOBS_LEASE_GRACE_MS: '1000',
};
/**
 * One worker is frozen (SIGSTOP), as a long GC pause or a suspended VM would freeze it, while it holds
 * running jobs, and thawed only once the lease sweeper has taken every one of them away from it: its late
 * reports of them are then stale, and must be refused with ABORTED. Meanwhile the job type is paused, so
 * that no new attempt of those jobs can finish first (a late start of a finished job is refused as
 * finished instead). Before counting what the worker holds, the reports it sent just before the freeze
 * get this long to be recorded.
 */
const FROZEN_SETTLE_MS = 300;
/** The longest the held leases (timeout plus grace) may take to be swept, and the late reports to be answered. */
const FROZEN_WAIT_MS = 30_000;
const FREEZE_TRIES = 20;
const TERMINAL = ['succeeded', 'dead', 'cancelled'];
const STALE_WORKER_MESSAGES = new Set([
  'the data service refused a stale report; the job moved on',
  'the attempt was taken away (lease lapsed or job moved on); not reporting',
]);
/** The worker's (debug) line for a start the data service refused; stale when its code is ABORTED. */
const SKIPPED_START_MESSAGE = 'skipping a delivery whose attempt is not ours to run';

function isStaleRefusal(entry: LogEntry): boolean {
  const message = String(entry['msg']);
  return STALE_WORKER_MESSAGES.has(message) || (message === SKIPPED_START_MESSAGE && entry['code'] === 'ABORTED');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sumOf(entries: readonly LogEntry[], field: string): number {
  return entries.reduce((sum, entry) => sum + Number(entry[field]), 0);
}

describe('chaos on PostgreSQL: workers, the data service and Redis killed while 2,000 jobs run', function () {
  this.timeout(240_000);
  const pool = createProcessPool();
  const workers: ServiceProcess[] = [];
  const ready = new Set<ServiceProcess>();
  const workerIds = new Map<ServiceProcess, string>();
  let redis: OwnRedis | undefined;
  let database: TestDatabase | undefined;
  let pg: PgClient | undefined;
  let client: JobServiceClient | undefined;
  let jobs: PromiseClient<JobServiceClient>;
  let typeClient: JobTypeServiceClient | undefined;
  let jobTypes: PromiseClient<JobTypeServiceClient>;
  let data: ServiceProcess;
  let dataPort: number;
  let prefix: string;
  let spawned = 0;

  function spawnWorker(): ServiceProcess {
    spawned += 1;
    const workerId = `chaos-worker-${spawned}`;
    const worker = pool.add(
      startSleepWorker({
        dataServiceAddress: `127.0.0.1:${dataPort}`,
        redisUrl: redis!.url,
        redisPrefix: prefix,
        workerId,
        concurrency: CONCURRENCY,
        env: { WORKER_STALL_INTERVAL_MS: '1000', LOG_LEVEL: 'debug' },
      }),
    );
    workerIds.set(worker, workerId);
    workerStarted(worker).then(
      () => ready.add(worker),
      () => undefined,
    );
    return worker;
  }

  async function startData(): Promise<ServiceProcess> {
    const started = await startDataProcess({
      databaseUrl: database!.url,
      redisUrl: redis!.url,
      redisPrefix: prefix,
      port: dataPort,
      jobTypes: [JOB_TYPE],
      env: DATA_ENV,
    });
    return pool.add(started);
  }

  async function countByState(): Promise<Record<string, number>> {
    const { rows } = await pg!.query<{ state: string; count: string }>(
      'SELECT state, count(*) AS count FROM jobs GROUP BY state',
    );
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }

  /** The jobs `workerId` holds as running. */
  async function runningOn(workerId: string): Promise<string[]> {
    const { rows } = await pg!.query<{ id: string }>("SELECT id FROM jobs WHERE state = 'running' AND worker_id = $1", [
      workerId,
    ]);
    return rows.map((row) => row.id);
  }

  /** The jobs whose reports `workerId` logged as refused for being stale. */
  function staleReportsOf(workerId: string): Set<string> {
    return new Set(
      logEntries(pool.allLines(), (entry) => entry['workerId'] === workerId && isStaleRefusal(entry)).map((entry) =>
        String(entry['jobId']),
      ),
    );
  }

  async function setPaused(paused: boolean): Promise<void> {
    await jobTypes.updateJobType({
      jobType: JobType.fromPartial({ name: JOB_TYPE.name, paused }),
      updateMask: ['paused'],
    });
  }

  /**
   * Freezes a ready worker that holds running jobs until the lease sweeper has taken every one of them
   * away from it, then thaws it and waits until its late report of each was refused as stale; answers its
   * id and the jobs it held. It is never killed, so that its late reports reach the data service.
   */
  async function freezeWorkerPastItsLeases(): Promise<{ workerId: string; held: string[] }> {
    for (let tries = 0; tries < FREEZE_TRIES; tries += 1) {
      const victim = workers.find((worker) => ready.has(worker));
      const workerId = victim && workerIds.get(victim);
      if (!victim || !workerId) {
        await sleep(100);
        continue;
      }
      ready.delete(victim);
      victim.signal('SIGSTOP');
      await sleep(FROZEN_SETTLE_MS);
      const held = await runningOn(workerId);
      if (held.length === 0) {
        victim.signal('SIGCONT');
        ready.add(victim);
        continue;
      }
      await setPaused(true);
      try {
        await waitUntil(
          `the leases of the frozen ${workerId} to be swept`,
          async () => (await runningOn(workerId)).length === 0,
          FROZEN_WAIT_MS,
          100,
        );
        victim.signal('SIGCONT');
        await waitUntil(
          `the data service to refuse with ABORTED the late report of every job the thawed ${workerId} held`,
          () => {
            const refused = staleReportsOf(workerId);
            return held.every((id) => refused.has(id));
          },
          FROZEN_WAIT_MS,
          100,
        );
      } finally {
        victim.signal('SIGCONT');
        await setPaused(false);
      }
      return { workerId, held };
    }
    throw new Error(`no ready worker held a running job in ${FREEZE_TRIES} tries`);
  }

  async function finished(): Promise<number> {
    const counts = await countByState();
    return TERMINAL.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
  }

  before(async () => {
    redis = await createOwnRedis();
    await redis.start();
    database = await createTestDatabase('postgres');
    dataPort = await freePort();
    prefix = uniquePrefix('chaos');
    data = await startData();
    client = connect(JobServiceClient, `127.0.0.1:${dataPort}`);
    jobs = promiseClient(client);
    typeClient = connect(JobTypeServiceClient, `127.0.0.1:${dataPort}`);
    jobTypes = promiseClient(typeClient);
    pg = new PgClient({ connectionString: database.url });
    await pg.connect();
    for (let index = 0; index < WORKERS; index += 1) workers.push(spawnWorker());
    await Promise.all(workers.map(workerStarted));
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    const file = path.join(os.tmpdir(), `tandem-chaos-${process.pid}.log`);
    fs.writeFileSync(file, pool.allLines().join('\n'));
    console.log(`      the log lines of every process are in ${file}`);
  });

  after(async () => {
    client?.close();
    typeClient?.close();
    await pool.close();
    await redis?.close();
    await pg?.end();
    await database?.drop();
  });

  it('when workers are SIGKILLed every second, the data service is killed and Redis comes back empty, then every job succeeds exactly once', async () => {
    const ids: string[] = [];
    for (let offset = 0; offset < JOBS; offset += CHUNK) {
      const requests = Array.from({ length: CHUNK }, () => ({
        type: JOB_TYPE.name,
        payload: { ms: randomInt(0, 51) },
        queue: Queue.QUEUE_UNSPECIFIED,
        idempotencyKey: '',
      }));
      const answer = await jobs.batchEnqueue({ requests });
      ids.push(...answer.jobs.map((job) => job.id));
    }
    assert.equal(new Set(ids).size, JOBS);

    const chaosStarted = Date.now();
    const kills = { workers: 0, data: 0, redis: 0 };
    // Fails unless the frozen worker's late reports are all refused with ABORTED.
    const freeze = freezeWorkerPastItsLeases();
    const dataService = { down: false };
    // Workers die all along, but not while the data service is down: the workers alive then hold
    // reports that they must retry until it is back, and whose leases lapse meanwhile.
    const killWorkers = (async () => {
      while (kills.workers < WORKER_KILLS && Date.now() - chaosStarted < KILLS_WITHIN_MS) {
        await sleep(KILL_EVERY_MS);
        const candidates = workers.filter((worker) => ready.has(worker));
        if (dataService.down || candidates.length < 2) continue;
        const victim = candidates[randomInt(0, candidates.length)]!;
        ready.delete(victim);
        await victim.stop('SIGKILL');
        kills.workers += 1;
        workers[workers.indexOf(victim)] = spawnWorker();
      }
    })();
    // Redis is replaced by an empty one once the data service is back, so that a data service that
    // lived through the Redis restart has to publish again what Redis lost. The data service is killed
    // only once the frozen worker is done, so that the claims it had sent that worker are still there to
    // read when it thaws.
    const killDataThenRedis = (async () => {
      await freeze;
      await waitUntil('the first worker kills', () => kills.workers >= DATA_KILL_AFTER_KILLS, 60_000, 50);
      // Kill it mid-job: its leases lapse while it is down, and the workers' retried reports turn stale.
      const running = async () => (await countByState())['running'] ?? 0;
      await waitUntil('workers to be mid-job', async () => (await running()) >= 5, 30_000, 20);
      dataService.down = true;
      await data.stop('SIGKILL');
      kills.data += 1;
      await sleep(DATA_DOWN_MS);
      data = await startData();
      dataService.down = false;
      await sleep(REDIS_KILL_AFTER_DATA_MS);
      await redis!.stop();
      kills.redis += 1;
      await sleep(REDIS_DOWN_MS);
      await redis!.start();
    })();
    const [frozen] = await Promise.all([freeze, killWorkers, killDataThenRedis]);
    const chaosMs = Date.now() - chaosStarted;
    try {
      await waitUntil(`all ${JOBS} jobs to finish`, async () => (await finished()) === JOBS, SETTLE_TIMEOUT_MS, 250);
    } catch (error) {
      throw new Error(`${(error as Error).message}; jobs by state: ${JSON.stringify(await countByState())}`);
    }
    const settledMs = Date.now() - chaosStarted;

    const counts = await countByState();
    const { rows: found } = await pg!.query<{ count: string }>(
      'SELECT count(*) AS count FROM jobs WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const { rows: doubled } = await pg!.query<{ job_id: string; count: string }>(
      "SELECT job_id, count(*) AS count FROM job_events WHERE to_state = 'succeeded' GROUP BY job_id HAVING count(*) > 1",
    );
    const { rows: terminalEvents } = await pg!.query<{ job_id: string; count: string }>(
      'SELECT job_id, count(*) AS count FROM job_events WHERE to_state = ANY($1) GROUP BY job_id',
      [TERMINAL],
    );
    const { rows: attempts } = await pg!.query<{ max: number; retried: string }>(
      'SELECT max(attempt) AS max, count(*) FILTER (WHERE attempt > 1) AS retried FROM jobs',
    );
    const { rows: failures } = await pg!.query<{ kind: string; count: string }>(
      "SELECT split_part(message, ':', 1) AS kind, count(*) AS count FROM job_events WHERE from_state = 'running' AND to_state NOT IN ('running', 'succeeded') GROUP BY kind",
    );
    const lines = pool.allLines();
    const refusedByData = logEntries(
      lines,
      (entry) => entry['msg'] === 'refused a report of the batch' && entry['code'] === 'ABORTED',
    ).length;
    const refusedInWorkers = logEntries(lines, isStaleRefusal).length;
    const frozenRefused = staleReportsOf(frozen.workerId);
    const summary = {
      states: counts,
      chaosMs,
      settledMs,
      maxAttempt: attempts[0]?.max,
      jobsRetried: Number(attempts[0]?.retried),
      staleReportsRefused: refusedByData,
      staleReportsInWorkerLogs: refusedInWorkers,
      frozenWorker: { held: frozen.held.length, staleReportsRefused: frozenRefused.size },
      republished: sumOf(
        logEntries(lines, (entry) => entry['msg'] === 're-published queued jobs that Redis had lost'),
        'republished',
      ),
      failedAttempts: Object.fromEntries(failures.map((row) => [row.kind, Number(row.count)])),
      leasesExpired: sumOf(
        logEntries(lines, (entry) => entry['msg'] === 'failed attempts whose worker stopped reporting'),
        'expired',
      ),
      kills,
      workersStarted: spawned,
    };
    console.log(`      chaos counts: ${JSON.stringify(summary)}`);

    assert.equal(Number(found[0]?.count), JOBS, 'every enqueued job exists');
    assert.deepEqual(counts, { succeeded: JOBS }, 'every job succeeded');
    assert.deepEqual(doubled, [], 'no job succeeded twice');
    assert.equal(terminalEvents.length, JOBS, 'every job has a terminal event');
    assert.deepEqual(
      terminalEvents.filter((row) => Number(row.count) !== 1),
      [],
      'no job reached a terminal state twice',
    );
    assert.ok(summary.jobsRetried > 0, 'the kills made some jobs run more than once');
    assert.deepEqual(kills, { workers: WORKER_KILLS, data: 1, redis: 1 });
  });
});
