import assert from 'node:assert/strict';
import BeeQueue from 'bee-queue';
import { coalesceWrites } from '../../services/shared/bee-queue-repairs';
import { beeQueueRedisOptions } from '../../services/shared/bee-queue-settings';
import { createTestRedisPrefix, type TestRedisPrefix } from '../support/test-redis';

type Data = { readonly n: number };

interface SocketWrites {
  readonly count: () => number;
  readonly restore: () => void;
}

/** Counts the writes that reach the socket of one of a queue's `redis` clients. */
function countSocketWrites(queue: BeeQueue<Data>, clientName: 'client' | 'bclient'): SocketWrites {
  const { stream } = (queue as unknown as Record<string, { stream: NodeJS.WritableStream }>)[clientName] ?? {};
  assert.ok(stream, `the queue has no ${clientName}`);
  const internals = stream as unknown as {
    _writev: (...args: unknown[]) => void;
    _write: (...args: unknown[]) => void;
  };
  let writes = 0;
  const [writev, write] = [internals._writev.bind(stream), internals._write.bind(stream)];
  internals._writev = (...args) => {
    writes += 1;
    writev(...args);
  };
  internals._write = (...args) => {
    writes += 1;
    write(...args);
  };
  return {
    count: () => writes,
    restore: () => {
      internals._writev = writev;
      internals._write = write;
    },
  };
}

function openQueue(redis: TestRedisPrefix, name: string, isWorker: boolean): BeeQueue<Data> {
  const queue = new BeeQueue<Data>(name, {
    prefix: redis.prefix,
    redis: beeQueueRedisOptions(redis.url),
    isWorker,
    getEvents: false,
    sendEvents: false,
    removeOnSuccess: true,
  });
  coalesceWrites(queue);
  return queue;
}

describe("bee-queue's Redis writes", () => {
  let redis: TestRedisPrefix;
  let queue: BeeQueue<Data>;

  before(async () => {
    redis = createTestRedisPrefix();
    queue = openQueue(redis, 'coalesce-test', false);
    await queue.ready();
  });
  after(async () => {
    await queue.close();
    await redis.drop();
  });

  it('when commands are sent in one turn of the event loop, then they leave in one write and answer in order', async () => {
    const writes = countSocketWrites(queue, 'client');
    try {
      const jobs = await Promise.all(
        Array.from({ length: 5 }, (_unused, n) => queue.createJob({ n }).setId(`job-${n}`).save()),
      );
      assert.deepEqual(
        jobs.map((job) => job.id),
        ['job-0', 'job-1', 'job-2', 'job-3', 'job-4'],
      );
      assert.equal(writes.count(), 1);
      const stored = await Promise.all(jobs.map((job) => queue.getJob(job.id)));
      assert.deepEqual(
        stored.map((job) => (job as BeeQueue.Job<Data> | null)?.data.n),
        [0, 1, 2, 3, 4],
      );
    } finally {
      writes.restore();
    }
  });

  it('when several jobs of a worker end in one turn, then the fetches of their successors leave in one write', async () => {
    const worker = openQueue(redis, 'coalesce-fetch-test', true);
    const producer = openQueue(redis, 'coalesce-fetch-test', false);
    try {
      await Promise.all([worker.ready(), producer.ready()]);
      const concurrency = 5;
      await producer.saveAll(Array.from({ length: 2 * concurrency }, (_unused, n) => producer.createJob({ n })));
      let releaseFirst = (): void => undefined;
      const firstDone = new Promise<void>((resolve) => (releaseFirst = resolve));
      const started: number[] = [];
      let allStarted = (): void => undefined;
      const secondStarted = new Promise<void>((resolve) => (allStarted = resolve));
      let writes: SocketWrites | undefined;
      let writesWhenFirstEnded = 0;
      let writesWhenSecondStarted = 0;
      worker.process(concurrency, async (job) => {
        started.push(job.data.n);
        if (started.length === concurrency) {
          writes = countSocketWrites(worker, 'bclient');
          writesWhenFirstEnded = writes.count();
          releaseFirst();
        }
        if (started.length === 2 * concurrency) {
          writesWhenSecondStarted = writes?.count() ?? 0;
          allStarted();
        }
        if (started.length <= concurrency) await firstDone;
        return {};
      });
      await secondStarted;
      writes?.restore();
      assert.deepEqual(
        [...started].sort((a, b) => a - b),
        Array.from({ length: 2 * concurrency }, (_unused, n) => n),
      );
      assert.equal(writesWhenSecondStarted - writesWhenFirstEnded, 1);
    } finally {
      await worker.close();
      await producer.close();
    }
  });
});
