import assert from 'node:assert/strict';
import {
  createBeeQueuePort,
  RedisTimeoutError,
  type BeeQueuePort,
} from '../../services/data/src/dispatch/bee-queue-port';
import { dispatchKey, type DispatchItem } from '../../services/data/src/domain/dispatch';
import { newId } from '../../services/data/src/domain/ids';
import { createOwnRedis, waitUntil } from '../support/processes';
import { createTestRedisPrefix, type TestRedisPrefix } from '../support/test-redis';

describe("the dispatcher's bee-queue port", () => {
  let redis: TestRedisPrefix;
  let port: BeeQueuePort | undefined;

  beforeEach(() => {
    redis = createTestRedisPrefix();
  });
  afterEach(async () => {
    await port?.close();
    port = undefined;
    await redis.drop();
  });

  it('when it is used right after it was made, then it waits for its first connection instead of failing', async () => {
    port = createBeeQueuePort(redis.url, redis.prefix, 2000);
    const jobId = newId();
    const item: DispatchItem = { jobId, attempt: 1, queue: 'default', key: dispatchKey(jobId, 1) };

    await port.ping();
    await port.publish([item]);
    assert.deepEqual(await port.missing([item]), []);
  });

  it('when every queue is asked before its first connection, then each call waits for its own', async () => {
    port = createBeeQueuePort(redis.url, redis.prefix, 2000);
    const items: DispatchItem[] = (['critical', 'default', 'low'] as const).map((queue) => {
      const jobId = newId();
      return { jobId, attempt: 1, queue, key: dispatchKey(jobId, 1) };
    });

    const lost = await port.missing(items);

    assert.deepEqual(lost, items, 'nothing was published yet');
    await port.publish(items);
    assert.deepEqual(await port.missing(items), []);
  });

  it('when Redis is not up at start, then a call fails with RedisTimeoutError after the timeout, and works once Redis is up', async () => {
    const own = await createOwnRedis();
    try {
      port = createBeeQueuePort(own.url, redis.prefix, 300);
      const asked = Date.now();
      await assert.rejects(port.ping(), RedisTimeoutError);
      assert.ok(Date.now() - asked >= 250, 'it waited for the connection');

      await own.start();
      const ready = port;
      await waitUntil(
        'the port to reach Redis',
        async () => {
          await ready.ping();
          return true;
        },
        10_000,
      );
    } finally {
      await port?.close();
      port = undefined;
      await own.close();
    }
  });
});
