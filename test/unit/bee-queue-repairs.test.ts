import assert from 'node:assert/strict';
import fs from 'node:fs';
import BeeQueue from 'bee-queue';
import { capFetchRetryDelay } from '../../services/shared/bee-queue-repairs';

describe("bee-queue's fetch retry delay", () => {
  it('still doubles an uncapped _redisFailureRetryDelay in the bee-queue we depend on', () => {
    // The repair reaches into this field: an upgrade that renames it must fail here, not in production.
    const source = fs.readFileSync(require.resolve('bee-queue/lib/queue.js'), 'utf8');
    assert.match(source, /this\._redisFailureRetryDelay \* 2/);
  });

  it('is lowered on each error so that the next wait is at most 5 s', () => {
    // autoConnect off: the queue never opens a connection, so there is nothing to close.
    const queue = new BeeQueue('repairs-test', { redis: { host: '127.0.0.1', port: 1 }, autoConnect: false });
    const internals = queue as unknown as { _redisFailureRetryDelay?: number };
    capFetchRetryDelay(queue);

    internals._redisFailureRetryDelay = 16_000;
    queue.emit('error', new Error('connection lost'));
    const afterLongOutage = internals._redisFailureRetryDelay;
    internals._redisFailureRetryDelay = 1000;
    queue.emit('error', new Error('connection lost'));

    assert.equal(afterLongOutage, 2500);
    assert.equal(internals._redisFailureRetryDelay, 1000);
  });
});
