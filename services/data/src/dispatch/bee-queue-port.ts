import BeeQueue from 'bee-queue';
import { coalesceWrites, reloadScriptsOnReconnect } from '../../../shared/bee-queue-repairs';
import { beeQueueRedisOptions, QUEUE_NAMES, type DispatchMessage } from '../../../shared/bee-queue-settings';
import type { DispatchItem, JobQueuePort } from '../domain/dispatch';
import type { QueueName } from '../domain/job-types';

export interface BeeQueuePort extends JobQueuePort {
  close(): Promise<void>;
}

export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new RedisTimeoutError(`${what} got no answer from Redis within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * The producer side of bee-queue: one queue per priority, keyed by the dispatch key so that publishing
 * the same attempt twice adds it once. Every call is bounded by `timeoutMs`: bee-queue waits for Redis
 * forever otherwise.
 */
export function createBeeQueuePort(redisUrl: string, prefix: string, timeoutMs: number): BeeQueuePort {
  const queues = new Map<QueueName, BeeQueue<DispatchMessage>>(
    QUEUE_NAMES.map((name) => [
      name,
      new BeeQueue<DispatchMessage>(name, {
        prefix,
        redis: beeQueueRedisOptions(redisUrl),
        isWorker: false,
        getEvents: false,
        sendEvents: false,
        storeJobs: false,
      }),
    ]),
  );
  const connected = new Set<QueueName>();
  /** Calls waiting for a queue's first connection. */
  const waiting = new Set<{ readonly name: QueueName; readonly wake: () => void }>();
  for (const [name, queue] of queues) {
    // Connection errors surface as failed publishes; without a listener they would crash the process.
    queue.on('error', () => undefined);
    void queue.ready().then(() => {
      connected.add(name);
      for (const waiter of waiting) if (waiter.name === name) waiter.wake();
    });
    // A failed reload shows up as failed publishes, retried at the next round.
    reloadScriptsOnReconnect(queue, () => undefined);
    coalesceWrites(queue);
  }

  /**
   * Resolves once the queue has connected. Until its first connection a call waits for it, within the
   * timeout, and sends nothing meanwhile: right after start the connection is only a moment away, and
   * failing at once made the first dispatch round or Redis probe of many a start fail and log a warning.
   * A waiter that times out is forgotten, so that a Redis down at start for hours holds nothing up.
   */
  function firstConnection(name: QueueName): Promise<void> {
    if (connected.has(name)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        name,
        wake: () => {
          clearTimeout(timer);
          waiting.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        waiting.delete(waiter);
        reject(new RedisTimeoutError(`the ${name} queue did not connect to Redis within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.add(waiter);
    });
  }

  function queueNamed(name: QueueName): BeeQueue<DispatchMessage> {
    const queue = queues.get(name);
    if (!queue) throw new Error(`no queue named ${name}`);
    return queue;
  }

  async function queueOf(name: QueueName): Promise<BeeQueue<DispatchMessage>> {
    await firstConnection(name);
    return queueNamed(name);
  }

  async function publish(items: readonly DispatchItem[]): Promise<void> {
    for (const name of QUEUE_NAMES) {
      const batch = items.filter((item) => item.queue === name);
      if (batch.length === 0) continue;
      const queue = await queueOf(name);
      const jobs = batch.map((item) => queue.createJob({ jobId: item.jobId, attempt: item.attempt }).setId(item.key));
      const failures = await withTimeout(queue.saveAll(jobs), timeoutMs, `publishing ${jobs.length} jobs`);
      const [first] = failures.values();
      if (first) throw first;
    }
  }

  async function missing(items: readonly DispatchItem[]): Promise<DispatchItem[]> {
    for (const name of new Set(items.map((item) => item.queue))) await firstConnection(name);
    const found = await withTimeout(
      Promise.all(
        items.map((item) => queueNamed(item.queue).getJob(item.key) as Promise<BeeQueue.Job<DispatchMessage> | null>),
      ),
      timeoutMs,
      `looking up ${items.length} jobs`,
    );
    return items.filter((_item, index) => found[index] === null);
  }

  async function ping(): Promise<void> {
    const queue = await queueOf('default');
    await withTimeout(queue.checkHealth(), timeoutMs, 'a health check');
  }

  async function close(): Promise<void> {
    await Promise.all([...queues.values()].map((queue) => queue.close(timeoutMs).catch(() => undefined)));
    connected.clear();
  }

  return { publish, missing, ping, close };
}
