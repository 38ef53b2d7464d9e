import Redis from 'ioredis';
import type { FrozenConfig } from '../../../config';
import type { Logger } from '../../shared/logger';

export interface WorkerService {
  stop(): Promise<void>;
}

/**
 * Starts the worker process. Job consumption arrives with the job pipeline; for now the worker proves
 * it can reach Redis, and stops cleanly.
 */
export async function startWorkerService(config: FrozenConfig, log: Logger): Promise<WorkerService> {
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.ping();
  log.info({ dataService: config.worker.dataServiceAddress }, 'worker started; Redis answers');
  return {
    stop: async () => {
      await redis.quit();
      log.info('worker stopped');
    },
  };
}
