import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import { z } from 'zod';
import { loadConfig } from '../../config';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { JobServiceClient, JobState } from '../../proto/gen/tandem/v1/job';
import { Queue } from '../../proto/gen/tandem/v1/job_type';
import { startDataService, DISPATCH_HEALTH, type DataService } from '../../services/data/src/data-service';
import { createLogger } from '../../services/shared/logger';
import { defineJobHandler } from '../../services/worker/src/job-handler';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { connect, promiseClient } from '../support/grpc-client';
import {
  createOwnRedis,
  createProcessPool,
  logEntries,
  startDataProcess,
  startSleepWorker,
  waitUntil,
  workerStarted,
  type OwnRedis,
} from '../support/processes';
import { freePort, type ServiceProcess } from '../support/service-process';
import { startTestDataService, type TestDataService } from '../support/test-data-service';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { createTestRedisPrefix } from '../support/test-redis';
import { startTestWorker } from '../support/test-worker';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function enqueueRequest(type: string, payload: Record<string, unknown>) {
  return { type, payload, queue: Queue.QUEUE_UNSPECIFIED, idempotencyKey: '' };
}

/** Counts a database's jobs by state. */
async function statesOf(pg: PgClient, ids: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await pg.query<{ state: string; count: string }>(
    'SELECT state, count(*) AS count FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY state',
    [ids],
  );
  return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
}

async function connectPg(url: string): Promise<PgClient> {
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  return pg;
}

describe('resilience on PostgreSQL', function () {
  this.timeout(60_000);

  describe('when Redis is down', () => {
    const ECHO = 'resilience.echo';
    const echoJob = defineJobHandler({
      type: ECHO,
      payload: z.object({ n: z.number() }),
      run: ({ payload }) => Promise.resolve({ n: payload.n }),
    });
    let redis: OwnRedis | undefined;
    let service: TestDataService | undefined;
    let worker: WorkerService | undefined;
    let healthClient: HealthClient | undefined;

    before(async () => {
      redis = await createOwnRedis();
      await redis.start();
      service = await startTestDataService('postgres', {
        'redis.url': redis.url,
        'jobs.types': [{ name: ECHO, timeoutMs: 5000 }],
      });
      healthClient = connect(HealthClient, service.address);
    });
    after(async () => {
      await worker?.stop();
      healthClient?.close();
      await service?.destroy();
      await redis?.close();
    });

    async function statusOf(name: string): Promise<Serving> {
      return (await promiseClient(healthClient!).check({ service: name })).status;
    }

    it('then Enqueue answers OK within 1 s, jobs wait as pending and only the Dispatch health entry is NOT_SERVING; when Redis returns, a worker runs them', async () => {
      await waitUntil(
        'dispatch to be SERVING',
        async () => (await statusOf(DISPATCH_HEALTH)) === Serving.SERVING,
        10_000,
      );

      await redis!.stop();
      await waitUntil(
        'dispatch to be NOT_SERVING',
        async () => (await statusOf(DISPATCH_HEALTH)) === Serving.NOT_SERVING,
        10_000,
      );
      const ids: string[] = [];
      for (let n = 0; n < 5; n += 1) {
        const started = performance.now();
        const job = await service!.jobs.enqueue(enqueueRequest(ECHO, { n }));
        const tookMs = performance.now() - started;
        assert.ok(tookMs < 1000, `Enqueue took ${tookMs.toFixed(0)} ms with Redis down`);
        ids.push(job.id);
      }

      // Many dispatch rounds (every 50 ms) fail in this second; the jobs wait, the health answers stay put.
      for (const until = Date.now() + 1000; Date.now() < until; await sleep(100)) {
        assert.equal(await statusOf(DISPATCH_HEALTH), Serving.NOT_SERVING, 'the Dispatch entry follows Redis');
        assert.equal(await statusOf(''), Serving.SERVING, 'the server stays SERVING: Enqueue works');
      }
      for (const id of ids) assert.equal((await service!.jobs.getJob({ id })).state, JobState.JOB_STATE_PENDING);

      await redis!.start();
      // Redis came back empty, without bee-queue's Lua scripts: the data service must dispatch on its own,
      // before a worker connects (a worker's start would load the scripts again and hide a failure).
      await waitUntil(
        'the jobs to be dispatched',
        async () => {
          const jobs = await Promise.all(ids.map((id) => service!.jobs.getJob({ id })));
          return jobs.every((job) => job.state === JobState.JOB_STATE_QUEUED);
        },
        10_000,
      );
      worker = await startTestWorker(service!, [echoJob], { 'redis.url': redis!.url });

      await waitUntil(
        'the jobs to succeed',
        async () => {
          const jobs = await Promise.all(ids.map((id) => service!.jobs.getJob({ id })));
          return jobs.every((job) => job.state === JobState.JOB_STATE_SUCCEEDED);
        },
        20_000,
      );
      await waitUntil(
        'dispatch to be SERVING again',
        async () => (await statusOf(DISPATCH_HEALTH)) === Serving.SERVING,
        5000,
      );
    });
  });

  describe('two data-service replicas on one database', () => {
    const JOBS = 1000;
    let first: TestDataService | undefined;
    let second: DataService | undefined;
    let secondClient: JobServiceClient | undefined;
    let pg: PgClient | undefined;
    let redis: Redis | undefined;

    before(async () => {
      const settings = { 'dispatch.batchSize': 100 };
      first = await startTestDataService('postgres', settings);
      const config = loadConfig({
        env: 'test',
        'database.url': first.database.url,
        'database.migrateOnStart': false,
        'redis.url': first.redis.url,
        'redis.keyPrefix': first.redis.prefix,
        'grpc.host': '127.0.0.1',
        'grpc.port': 0,
        ...settings,
      });
      second = await startDataService(config, createLogger('tandem-data-replica', config.log.level));
      secondClient = connect(JobServiceClient, `127.0.0.1:${second.port}`);
      pg = await connectPg(first.database.url);
      redis = new Redis(first.redis.url);
    });
    after(async () => {
      redis?.disconnect();
      await pg?.end();
      secondClient?.close();
      await second?.stop();
      await first?.destroy();
    });

    it('when both dispatch 1,000 jobs, then each job is queued once in the database and once in Redis', async () => {
      const replicas = [first!.jobs, promiseClient(secondClient!)];
      const ids: string[] = [];
      for (const [index, jobs] of replicas.entries()) {
        const requests = Array.from({ length: JOBS / 2 }, (_unused, n) =>
          enqueueRequest('email.send', { replica: index, n }),
        );
        ids.push(...(await jobs.batchEnqueue({ requests })).jobs.map((job) => job.id));
      }
      await waitUntil('every job to be queued', async () => (await statesOf(pg!, ids))['queued'] === JOBS, 20_000);
      // Let the reconcilers of both replicas check every queued job against Redis at least once.
      const allQueuedAt = new Date();
      await waitUntil(
        'every queued job to be reconciled',
        async () => {
          const { rows } = await pg!.query<{ count: string }>(
            'SELECT count(*) AS count FROM jobs WHERE queued_at < $1',
            [allQueuedAt],
          );
          return Number(rows[0]?.count) === 0;
        },
        20_000,
      );

      const { rows: queuedEvents } = await pg!.query<{ job_id: string; count: string }>(
        "SELECT job_id, count(*) AS count FROM job_events WHERE to_state = 'queued' GROUP BY job_id",
      );
      assert.equal(queuedEvents.length, JOBS);
      assert.deepEqual(
        queuedEvents.filter((row) => Number(row.count) !== 1),
        [],
        'no job was dispatched twice',
      );
      const prefix = first!.redis.prefix;
      const waiting = await redis!.lrange(`${prefix}:default:waiting`, 0, -1);
      const stored = await redis!.hkeys(`${prefix}:default:jobs`);
      const expected = ids.map((id) => `${id}:1`).sort();
      assert.equal(waiting.length, JOBS, 'bee-queue jobs waiting');
      assert.deepEqual([...waiting].sort(), expected, 'each job waits once, for its first attempt');
      assert.deepEqual([...stored].sort(), expected, 'each job is stored once');
      for (const queue of ['critical', 'low']) assert.equal(await redis!.llen(`${prefix}:${queue}:waiting`), 0);
    });
  });

  describe('SIGTERM to a busy worker process', () => {
    const GRACE_MS = 3000;
    const SLEEP_TYPE = { name: 'chaos.sleep', maxAttempts: 3, timeoutMs: 30_000 };
    const pool = createProcessPool();
    let service: TestDataService | undefined;
    let pg: PgClient | undefined;
    let redis: Redis | undefined;
    let spawned = 0;

    function startWorker(): ServiceProcess {
      spawned += 1;
      return pool.add(
        startSleepWorker({
          dataServiceAddress: service!.address,
          redisUrl: service!.redis.url,
          redisPrefix: service!.redis.prefix,
          workerId: `sigterm-worker-${spawned}`,
          concurrency: 5,
          env: { WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS) },
        }),
      );
    }

    async function enqueueSleeps(count: number, payload: Record<string, number>): Promise<string[]> {
      const requests = Array.from({ length: count }, () => enqueueRequest(SLEEP_TYPE.name, payload));
      return (await service!.jobs.batchEnqueue({ requests })).jobs.map((job) => job.id);
    }

    /** Sends SIGTERM once `running` jobs run; answers the exit and how long it took. */
    async function terminateWhenBusy(worker: ServiceProcess, ids: readonly string[], running: number) {
      await waitUntil(`${running} jobs to run`, async () => (await statesOf(pg!, ids))['running'] === running, 20_000);
      const started = performance.now();
      const exit = await worker.stop('SIGTERM', GRACE_MS + 10_000);
      return { exit, tookMs: performance.now() - started };
    }

    async function waitForAllSucceeded(ids: readonly string[]): Promise<void> {
      await waitUntil(
        'every job to succeed',
        async () => (await statesOf(pg!, ids))['succeeded'] === ids.length,
        30_000,
        200,
      );
    }

    before(async () => {
      // Longer than a test waits: a job that Redis lost would come back through the reconciler too late.
      service = await startTestDataService('postgres', {
        'jobs.types': [SLEEP_TYPE],
        'dispatch.reconcileAfterMs': 60_000,
      });
      pg = await connectPg(service.database.url);
      redis = new Redis(service.redis.url);
    });
    afterEach(async () => {
      await pool.killAll();
    });
    after(async () => {
      await pool.close();
      redis?.disconnect();
      await pg?.end();
      await service?.destroy();
    });

    it('when its jobs finish within the grace, then it exits 0 in time, hands the jobs it fetched but never started back to Redis, and another worker runs them', async () => {
      const first = startWorker();
      await workerStarted(first);
      const ids = await enqueueSleeps(10, { ms: 1500 });

      const { exit, tookMs } = await terminateWhenBusy(first, ids, 5);

      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(tookMs < GRACE_MS, `the worker took ${tookMs.toFixed(0)} ms to stop`);
      assert.equal(logEntries(first.lines, (entry) => entry['msg'] === 'job attempt succeeded').length, 5);
      assert.equal((await statesOf(pg!, ids))['succeeded'], 5, 'the running jobs finished');
      const waiting = await redis!.llen(`${service!.redis.prefix}:default:waiting`);
      assert.equal(waiting, 5, 'the 5 jobs it fetched ahead of free slots are waiting in Redis again');
      await workerStarted(startWorker());
      await waitForAllSucceeded(ids);
      const { rows } = await pg!.query<{ failed: string; attempts: string }>(
        'SELECT sum(failed_attempts) AS failed, max(attempt) AS attempts FROM jobs WHERE id = ANY($1::uuid[])',
        [ids],
      );
      assert.deepEqual(rows[0], { failed: '0', attempts: 1 }, 'every job ran once');
    });

    it('when its jobs outlast the grace, then they are aborted and released without spending an attempt, and another worker completes them', async () => {
      const first = startWorker();
      await workerStarted(first);
      const ids = await enqueueSleeps(5, { ms: 10_000, laterMs: 50 });

      const { exit, tookMs } = await terminateWhenBusy(first, ids, 5);

      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(tookMs >= GRACE_MS - 100, `the worker stopped after ${tookMs.toFixed(0)} ms, before the grace ended`);
      assert.ok(tookMs < GRACE_MS + 3000, `the worker took ${tookMs.toFixed(0)} ms to stop`);
      const { rows: released } = await pg!.query<{ job_id: string; message: string }>(
        "SELECT job_id, message FROM job_events WHERE job_id = ANY($1::uuid[]) AND from_state = 'running' AND to_state = 'pending'",
        [ids],
      );
      assert.deepEqual(released.map((row) => row.job_id).sort(), [...ids].sort(), 'each job was released once');
      for (const row of released) assert.match(row.message, /released/);
      await workerStarted(startWorker());
      await waitForAllSucceeded(ids);
      const { rows } = await pg!.query<{ failed_attempts: number; attempt: number }>(
        'SELECT failed_attempts, attempt FROM jobs WHERE id = ANY($1::uuid[])',
        [ids],
      );
      assert.deepEqual(
        rows.map((row) => [row.failed_attempts, row.attempt]),
        ids.map(() => [0, 2]),
        'the release spent no attempt; the second one succeeded',
      );
    });
  });

  describe('a worker whose data service restarts mid-job', () => {
    const pool = createProcessPool();
    const redisKeys = createTestRedisPrefix();
    let database: TestDatabase | undefined;
    let pg: PgClient | undefined;
    let client: JobServiceClient | undefined;

    before(async () => {
      database = await createTestDatabase('postgres');
      pg = await connectPg(database.url);
    });
    after(async () => {
      client?.close();
      await pool.close();
      await pg?.end();
      await database?.drop();
      await redisKeys.drop();
    });

    it('when the data service is killed while a job runs and comes back 2 s later, then the worker retries its report and the job succeeds', async () => {
      const port = await freePort();
      const { prefix: redisPrefix, url: redisUrl } = redisKeys;
      const dataSettings = {
        databaseUrl: database!.url,
        redisUrl,
        redisPrefix,
        port,
        jobTypes: [{ name: 'chaos.sleep', maxAttempts: 3, timeoutMs: 30_000 }],
      };
      const firstData = pool.add(await startDataProcess(dataSettings));
      const worker = pool.add(
        startSleepWorker({
          dataServiceAddress: `127.0.0.1:${port}`,
          redisUrl,
          redisPrefix,
          workerId: 'restart-worker',
          concurrency: 2,
        }),
      );
      await workerStarted(worker);
      client = connect(JobServiceClient, `127.0.0.1:${port}`);
      const { id } = await promiseClient(client).enqueue(enqueueRequest('chaos.sleep', { ms: 2000 }));
      await waitUntil('the job to run', async () => (await statesOf(pg!, [id]))['running'] === 1, 20_000, 50);

      await firstData.stop('SIGKILL');
      await sleep(2000);
      const secondData = pool.add(await startDataProcess(dataSettings));

      await waitUntil('the job to succeed', async () => (await statesOf(pg!, [id]))['succeeded'] === 1, 30_000);
      const { rows } = await pg!.query<{ attempt: number; to_state: string }>(
        'SELECT attempt, to_state FROM job_events WHERE job_id = $1 ORDER BY id',
        [id],
      );
      assert.deepEqual(
        rows.map((row) => `${row.to_state}@${row.attempt}`),
        ['pending@0', 'queued@0', 'running@1', 'succeeded@1'],
        'one attempt, recorded once',
      );
      const taken = logEntries(
        secondData.lines,
        (entry) =>
          entry['msg'] === 'call' &&
          entry['method'] === '/tandem.v1.WorkerService/BatchReportAttempts' &&
          entry['code'] === 'OK',
      );
      // The completion, and the start too when the kill fell between the start's commit and its answer:
      // the worker then retries the start, which is answered as the first one was (seen about once in 20 runs).
      assert.ok(
        taken.length === 1 || taken.length === 2,
        `the restarted data service took the worker's completion report (${taken.length} calls)`,
      );
      const retried = logEntries(
        worker.lines,
        (entry) => entry['msg'] === 'the data service did not take a report; retrying',
      );
      assert.ok(retried.length > 0, 'the worker retried its report while the data service was down');
    });
  });
});
