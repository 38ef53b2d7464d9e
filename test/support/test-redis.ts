import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { loadConfig } from '../../config';

/** A Redis key prefix of its own for one test run, and the means to wipe what it wrote. */
export interface TestRedisPrefix {
  readonly prefix: string;
  readonly url: string;
  drop(): Promise<void>;
}

export function createTestRedisPrefix(): TestRedisPrefix {
  const prefix = `tandem-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const url = loadConfig({ env: 'test' }).redis.url;
  return {
    prefix,
    url,
    drop: async () => {
      const redis = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
