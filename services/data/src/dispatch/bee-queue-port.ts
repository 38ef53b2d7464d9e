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
  for (const [name, queue] of queues) {
    // Connection errors surface as failed publishes; without a listener they would crash the process.
    queue.on('error', () => undefined);
    void queue.ready().then(() => connected.add(name));
    // A failed reload shows up as failed publishes, retried at the next round.
    reloadScriptsOnReconnect(queue, () => undefined);
    coalesceWrites(queue);
  }

  /** A connected queue. Until the first connection, calls fail at once instead of piling up. */
  function queueOf(name: QueueName): BeeQueue<DispatchMessage> {
    const queue = queues.get(name);
    if (!queue) throw new Error(`no queue named ${name}`);
    if (!connected.has(name)) throw new RedisTimeoutError(`the ${name} queue has not connected to Redis yet`);
    return queue;
  }

  async function publish(items: readonly DispatchItem[]): Promise<void> {
    for (const name of QUEUE_NAMES) {
      const batch = items.filter((item) => item.queue === name);
      if (batch.length === 0) continue;
      const queue = queueOf(name);
      const jobs = batch.map((item) => queue.createJob({ jobId: item.jobId, attempt: item.attempt }).setId(item.key));
      const failures = await withTimeout(queue.saveAll(jobs), timeoutMs, `publishing ${jobs.length} jobs`);
      const [first] = failures.values();
      if (first) throw first;
    }
  }

  async function missing(items: readonly DispatchItem[]): Promise<DispatchItem[]> {
    const found = await withTimeout(
      Promise.all(
        items.map((item) => queueOf(item.queue).getJob(item.key) as Promise<BeeQueue.Job<DispatchMessage> | null>),
      ),
      timeoutMs,
      `looking up ${items.length} jobs`,
    );
    return items.filter((_item, index) => found[index] === null);
  }

  async function ping(): Promise<void> {
    await withTimeout(queueOf('default').checkHealth(), timeoutMs, 'a health check');
  }

  async function close(): Promise<void> {
    await Promise.all([...queues.values()].map((queue) => queue.close(timeoutMs).catch(() => undefined)));
    connected.clear();
  }

  return { publish, missing, ping, close };
}
