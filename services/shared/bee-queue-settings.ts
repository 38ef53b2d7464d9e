import type BeeQueue from 'bee-queue';

/** How long a bee-queue Redis client waits between reconnection attempts, forever. */
const RECONNECT_DELAY_MS = 1000;

/**
 * bee-queue speaks to Redis through its bundled `redis` v3 client and silently ignores an ioredis
 * instance, so it gets plain connection options parsed from REDIS_URL (see shared/NOTES.md).
 */
export function beeQueueRedisOptions(redisUrl: string): NonNullable<BeeQueue.QueueSettings['redis']> {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
    // Fail fast while Redis is away instead of queueing commands: callers retry from the database.
    enable_offline_queue: false,
    retry_strategy: () => RECONNECT_DELAY_MS,
  };
}

/** The data bee-queue carries: which attempt of which job to run. Everything else is in the database. */
export interface DispatchMessage {
  readonly jobId: string;
  readonly attempt: number;
}

export const QUEUE_NAMES = ['critical', 'default', 'low'] as const;
