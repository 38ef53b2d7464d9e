import assert from 'node:assert/strict';
import BeeQueue from 'bee-queue';
import { coalesceWrites } from '../../services/shared/bee-queue-repairs';
import { beeQueueRedisOptions } from '../../services/shared/bee-queue-settings';
import { createTestRedisPrefix, type TestRedisPrefix } from '../support/test-redis';

describe("bee-queue's Redis writes", () => {
  let redis: TestRedisPrefix;
  let queue: BeeQueue<{ readonly n: number }>;

  before(async () => {
    redis = createTestRedisPrefix();
    queue = new BeeQueue('coalesce-test', {
      prefix: redis.prefix,
      redis: beeQueueRedisOptions(redis.url),
      isWorker: false,
      getEvents: false,
      sendEvents: false,
    });
    coalesceWrites(queue);
    await queue.ready();
  });
  after(async () => {
    await queue.close();
    await redis.drop();
  });

  it('when commands are sent in one turn of the event loop, then they leave in one write and answer in order', async () => {
    const { stream } = (queue as unknown as { client: { stream: NodeJS.WritableStream } }).client;
    let socketWrites = 0;
    const count = (): void => {
      socketWrites += 1;
    };
    const internals = stream as unknown as {
      _writev: (...args: unknown[]) => void;
      _write: (...args: unknown[]) => void;
    };
    const [writev, write] = [internals._writev.bind(stream), internals._write.bind(stream)];
    internals._writev = (...args) => {
      count();
      writev(...args);
    };
    internals._write = (...args) => {
      count();
      write(...args);
    };
    try {
      const jobs = await Promise.all(
        Array.from({ length: 5 }, (_unused, n) => queue.createJob({ n }).setId(`job-${n}`).save()),
      );
      assert.deepEqual(
        jobs.map((job) => job.id),
        ['job-0', 'job-1', 'job-2', 'job-3', 'job-4'],
      );
      assert.equal(socketWrites, 1);
      const stored = await Promise.all(jobs.map((job) => queue.getJob(job.id)));
      assert.deepEqual(
        stored.map((job) => (job as BeeQueue.Job<{ readonly n: number }> | null)?.data.n),
        [0, 1, 2, 3, 4],
      );
    } finally {
      internals._writev = writev;
      internals._write = write;
    }
  });
});
