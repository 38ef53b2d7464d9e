import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { z } from 'zod';
import { JobState } from '../../proto/gen/tandem/v1/job';
import { Queue } from '../../proto/gen/tandem/v1/job_type';
import { defineJobHandler, type JobHandler } from '../../services/worker/src/job-handler';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { waitUntil } from '../support/processes';
import { startTestDataService, type TestDataService } from '../support/test-data-service';
import { startTestWorker } from '../support/test-worker';

type QueueName = 'critical' | 'default' | 'low';

const QUEUES: Readonly<Record<QueueName, Queue>> = {
  critical: Queue.QUEUE_CRITICAL,
  default: Queue.QUEUE_DEFAULT,
  low: Queue.QUEUE_LOW,
};
const BATCH = 400;

/** Three fresh job types, one per queue, so that nothing else in the database interferes. */
async function createTypes(service: TestDataService): Promise<Record<QueueName, string>> {
  const suffix = randomBytes(4).toString('hex');
  const names = { critical: `prio.critical-${suffix}`, default: `prio.default-${suffix}`, low: `prio.low-${suffix}` };
  for (const queue of Object.keys(names) as QueueName[]) {
    await service.jobTypes.createJobType({
      jobType: {
        name: names[queue],
        queue: QUEUES[queue],
        maxAttempts: 1,
        paused: false,
        etag: '',
      },
    });
  }
  return names;
}

async function enqueueMany(service: TestDataService, type: string, count: number): Promise<void> {
  for (let done = 0; done < count; done += BATCH) {
    const size = Math.min(BATCH, count - done);
    await service.jobs.batchEnqueue({
      requests: Array.from({ length: size }, () => ({
        type,
        payload: {},
        queue: Queue.QUEUE_UNSPECIFIED,
        idempotencyKey: '',
      })),
    });
  }
}

/** Waits until `count` jobs of each of `types` sit queued in Redis with no worker to take them. */
async function waitUntilQueued(service: TestDataService, types: readonly string[], count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { counts } = await service.jobs.countJobs({ type: '' });
    const queued = (type: string): number =>
      Number(counts.find((entry) => entry.type === type && entry.state === JobState.JOB_STATE_QUEUED)?.count ?? 0);
    if (types.every((type) => queued(type) === count)) return;
    if (Date.now() > deadline) assert.fail(`jobs were not all queued in time: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `count` jobs of `type` have succeeded. */
async function waitUntilSucceeded(service: TestDataService, type: string, count: number): Promise<void> {
  await waitUntil(
    `all ${count} jobs to succeed`,
    async () => {
      const { counts } = await service.jobs.countJobs({ type });
      const succeeded = counts.find((entry) => entry.state === JobState.JOB_STATE_SUCCEEDED);
      return Number(succeeded?.count ?? 0) === count;
    },
    15_000,
    50,
  );
}

/**
 * Handlers that record the queue of every job they start; `enough` resolves once `limit` jobs started.
 */
function recordingHandlers(names: Record<QueueName, string>, limit: number) {
  const starts: QueueName[] = [];
  let reached: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const handlers: JobHandler[] = (Object.keys(names) as QueueName[]).map((queue) =>
    defineJobHandler({
      type: names[queue],
      payload: z.object({}),
      run: () => {
        starts.push(queue);
        if (starts.length === limit) reached();
        return Promise.resolve({});
      },
    }),
  );
  return { starts, enough, handlers };
}

describe('queue priorities on a worker', function () {
  this.timeout(90_000);
  let service: TestDataService;
  let worker: WorkerService | undefined;
  before(async () => {
    // The jobs wait in Redis for many seconds on purpose: the reconciler need not check them meanwhile.
    service = await startTestDataService('sqlite', { 'dispatch.reconcileAfterMs': 600_000 });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });
  after(async () => {
    await service.destroy();
  });

  it('in strict mode, when jobs wait in every queue, then all critical ones start first, then default, then low', async () => {
    const names = await createTypes(service);
    const perQueue = 20;
    for (const queue of ['low', 'default', 'critical'] as const) await enqueueMany(service, names[queue], perQueue);
    await waitUntilQueued(service, Object.values(names), perQueue);
    const { starts, enough, handlers } = recordingHandlers(names, 3 * perQueue);

    worker = await startTestWorker(service, handlers, {
      'worker.concurrency': 1,
      'worker.priorityMode': 'strict',
    });
    await enough;

    // The worker fetches from its three queues at once and the very first slot goes to whichever
    // delivery reached it first; from then on every queue has a job waiting and strict order must hold.
    const rank: Record<QueueName, number> = { critical: 0, default: 1, low: 2 };
    const afterFirst = starts.slice(1).map((queue) => rank[queue]);
    assert.deepEqual(
      afterFirst,
      [...afterFirst].sort((a, b) => a - b),
      `a job started while a higher queue waited: ${starts.map((queue) => queue[0]).join('')}`,
    );
    for (const queue of Object.keys(rank) as QueueName[]) {
      assert.equal(starts.filter((name) => name === queue).length, perQueue, queue);
    }
  });

  it('when jobs wait in a queue, then the worker holds its concurrency plus its prefetch of them, no more', async () => {
    const names = await createTypes(service);
    const total = 12;
    await enqueueMany(service, names.default, total);
    await waitUntilQueued(service, [names.default], total);
    let started = 0;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const handler = defineJobHandler({
      type: names.default,
      payload: z.object({}),
      run: async () => {
        started += 1;
        await finished;
        return {};
      },
    });
    const redis = new Redis(service.redis.url);
    const listLength = (list: string): Promise<number> => redis.llen(`${service.redis.prefix}:default:${list}`);
    try {
      worker = await startTestWorker(service, [handler], { 'worker.concurrency': 1, 'worker.prefetch': 3 });
      await waitUntil('4 jobs fetched', async () => (await listLength('active')) >= 4, 10_000, 20);
      // Fetches beyond the limit would have been answered by now: the waiting list is not empty.
      await delay(300);

      assert.equal(started, 1, 'one job runs at concurrency 1');
      assert.equal(await listLength('active'), 4, 'fetched from Redis: 1 running and 3 ahead');
      assert.equal(await listLength('waiting'), total - 4, 'left in Redis for other workers');
      finish();
      await waitUntilSucceeded(service, names.default, total);
    } finally {
      finish();
      redis.disconnect();
    }
  });

  it('when jobs wait for a slot, then each is claimed in the transaction that records the job before it, and runs after it', async () => {
    const names = await createTypes(service);
    const total = 6;
    await enqueueMany(service, names.default, total);
    await waitUntilQueued(service, [names.default], total);
    const order: string[] = [];
    let running = 0;
    let most = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handler = defineJobHandler({
      type: names.default,
      payload: z.object({}),
      run: async ({ jobId }) => {
        running += 1;
        most = Math.max(most, running);
        order.push(jobId);
        await gate;
        await delay(5);
        running -= 1;
        return {};
      },
    });
    const redis = new Redis(service.redis.url);
    try {
      worker = await startTestWorker(service, [handler], { 'worker.concurrency': 1 });
      // The first job runs until every other one waits in the worker for its slot.
      const active = (): Promise<number> => redis.llen(`${service.redis.prefix}:default:active`);
      await waitUntil(`all ${total} jobs fetched`, async () => (await active()) === total, 10_000, 20);
      await delay(300);
      open();
      await waitUntilSucceeded(service, names.default, total);
    } finally {
      open();
      redis.disconnect();
    }

    assert.equal(most, 1, 'two jobs ran at once at concurrency 1');
    assert.equal(order.length, total);
    const stepTime = async (jobId: string, state: JobState): Promise<number> => {
      const { events } = await service.jobs.listJobEvents({ jobId, pageSize: 100, pageToken: '' });
      const time = events.find((event) => event.toState === state)?.createTime?.getTime();
      assert.ok(time !== undefined, `job ${jobId} has no ${JobState[state]} event`);
      return time;
    };
    for (let index = 1; index < total; index += 1) {
      const before = order[index - 1] ?? '';
      const next = order[index] ?? '';
      assert.equal(
        await stepTime(next, JobState.JOB_STATE_RUNNING),
        await stepTime(before, JobState.JOB_STATE_SUCCEEDED),
        `job ${index + 1} was not claimed in the transaction that recorded job ${index}`,
      );
    }
  });

  // Last: it leaves most of its jobs queued in Redis, where a later test's worker would fetch them.
  it('in weighted mode, when every queue stays busy, then starts are shared about 60/30/10', async () => {
    const names = await createTypes(service);
    const perQueue = 400;
    const observed = 500;
    for (const queue of ['low', 'default', 'critical'] as const) await enqueueMany(service, names[queue], perQueue);
    await waitUntilQueued(service, Object.values(names), perQueue);
    const { starts, enough, handlers } = recordingHandlers(names, observed);

    worker = await startTestWorker(service, handlers, { 'worker.concurrency': 1 });
    await enough;

    const first = starts.slice(0, observed);
    const expected: Record<QueueName, number> = { critical: 0.6, default: 0.3, low: 0.1 };
    const shares = Object.fromEntries(
      (Object.keys(expected) as QueueName[]).map((queue) => [
        queue,
        first.filter((name) => name === queue).length / observed,
      ]),
    );
    for (const queue of Object.keys(expected) as QueueName[]) {
      const share = shares[queue] ?? 0;
      assert.ok(
        Math.abs(share - expected[queue]) <= expected[queue] * 0.1,
        `the ${queue} share is ${share}, expected ${expected[queue]} ± 10%: ${JSON.stringify(shares)}`,
      );
    }
  });
});
