import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { setImmediate } from 'node:timers/promises';
import path from 'node:path';
import BeeQueue from 'bee-queue';
import Redis from 'ioredis';
import type { FrozenConfig } from '../../../config';
import {
  HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
} from '../../../proto/gen/grpc/health/v1/health';
import { capFetchRetryDelay, coalesceWrites, handBack, reloadScriptsOnReconnect } from '../../shared/bee-queue-repairs';
import { beeQueueRedisOptions, QUEUE_NAMES, type DispatchMessage } from '../../shared/bee-queue-settings';
import type { Logger } from '../../shared/logger';
import { connectDataService } from './data-service-client';
import { startHealthServer, type HealthServer } from './health-server';
import type { JobHandler } from './job-handler';
import { createJobRunner } from './job-runner';
import { createEmailSendJob } from './jobs/email-send-job';
import { createUsersExportJob } from './jobs/users-export-job';
import { createWebhookDeliverJob } from './jobs/webhook-deliver-job';
import { createReportBatcher, MAX_REPORTS_PER_BATCH } from './report-batcher';
import { createSlotScheduler } from './slot-scheduler';
import { credentials } from '@grpc/grpc-js';

export interface WorkerService {
  readonly workerId: string;
  readonly healthPort: number;
  stop(): Promise<void>;
}

/** The handlers every worker has; a deployment can pass its own list instead. */
export function builtInHandlers(config: FrozenConfig): JobHandler[] {
  return [
    createEmailSendJob({
      smtpUrl: config.email.smtpUrl,
      from: config.email.from,
      mailDir: path.join(config.dataDir, 'mail'),
    }),
    createWebhookDeliverJob(config.webhook.timeoutMs),
    createUsersExportJob(path.join(config.dataDir, 'exports')),
  ];
}

function healthCheck(client: HealthClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.check(HealthCheckRequest.fromPartial({ service: '' }), (error, response) => {
      if (error) reject(error);
      else if (response.status !== ServingStatus.SERVING) reject(new Error('the data service is not serving'));
      else resolve();
    });
  });
}

/**
 * Starts a worker: consumes the three queues, shares its concurrency between them (weighted or strict),
 * runs each delivered attempt and reports it to the data service. Any number of workers can run on one
 * Redis and one data service.
 */
export async function startWorkerService(
  config: FrozenConfig,
  log: Logger,
  handlers: readonly JobHandler[] = builtInHandlers(config),
): Promise<WorkerService> {
  const workerId = config.worker.id || `${os.hostname()}-${process.pid}`;
  const settings = config.worker;
  const data = connectDataService(settings.dataServiceAddress, settings.token, settings.reportTimeoutMs);
  const stopping = new AbortController();
  const released = new AbortController();
  // Every running attempt listens for the release, so there are as many listeners as jobs in flight.
  setMaxListeners(0, released.signal);
  const runDelivery = createJobRunner({
    data,
    reporter: createReportBatcher((request) => data.worker.batchReportAttempts(request), MAX_REPORTS_PER_BATCH),
    handlers: new Map(handlers.map((handler) => [handler.type, handler])),
    workerId,
    log: log.child({ workerId }),
    stopping: stopping.signal,
    released: released.signal,
  });
  const slots = createSlotScheduler({
    concurrency: settings.concurrency,
    mode: settings.priorityMode,
    weights: { critical: settings.weightCritical, default: settings.weightDefault, low: settings.weightLow },
  });

  const queues = QUEUE_NAMES.map((name) => {
    const queue = new BeeQueue<DispatchMessage>(name, {
      prefix: config.redis.keyPrefix,
      redis: beeQueueRedisOptions(config.redis.url),
      isWorker: true,
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      removeOnSuccess: true,
      removeOnFailure: true,
      stallInterval: settings.stallIntervalMs,
    });
    queue.on('error', (error) => {
      log.warn({ err: error, queue: name }, 'Redis connection problem; bee-queue reconnects');
    });
    capFetchRetryDelay(queue);
    coalesceWrites(queue);
    reloadScriptsOnReconnect(queue, (error) => {
      log.warn({ err: error, queue: name }, "could not reload bee-queue's scripts into Redis");
    });
    // Each queue holds `prefetch` deliveries more than the worker's concurrency, so that even with every
    // slot busy with its jobs, more wait for a shared slot: when a handler ends, every non-empty queue
    // already has a job waiting, the scheduler (not the order in which Redis answers fetches) decides
    // which queue's job gets the slot next, and that job claims its attempt beside the outcome before it
    // instead of waiting for a fetch from Redis. Those still waiting when the worker stops go back to
    // Redis at once, for other replicas: one turn of the event loop after `stop` closed the queues, so
    // that their blocking fetches, which would take a job handed back before they end, are gone.
    queue.process(settings.concurrency + settings.prefetch, async (job) => {
      const slot = await slots.acquire(name);
      if (!slot) {
        await setImmediate();
        handBack(job);
      }
      await runDelivery(job.data, slot);
    });
    return queue;
  });
  const stallTimer = setInterval(() => {
    for (const queue of queues) void queue.checkStalledJobs().catch(() => undefined);
  }, settings.stallIntervalMs);

  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  const healthClient = new HealthClient(settings.dataServiceAddress, credentials.createInsecure());
  let health: HealthServer;
  try {
    await redis.connect().catch(() => undefined);
    health = await startHealthServer(settings.healthPort, [
      {
        name: 'redis',
        check: async () => {
          await redis.ping();
        },
      },
      { name: 'dataService', check: () => healthCheck(healthClient) },
    ]);
  } catch (error) {
    clearInterval(stallTimer);
    await Promise.all(queues.map((queue) => queue.close(0).catch(() => undefined)));
    redis.disconnect();
    healthClient.close();
    data.close();
    throw error;
  }
  log.info(
    { workerId, concurrency: settings.concurrency, mode: settings.priorityMode, healthPort: health.port },
    'worker started',
  );

  return {
    workerId,
    healthPort: health.port,
    stop: async () => {
      stopping.abort();
      slots.close();
      const graceTimer = setTimeout(() => {
        log.warn('shutdown grace is over: aborting running jobs and releasing them to other workers');
        released.abort();
      }, settings.shutdownGraceMs);
      clearInterval(stallTimer);
      await Promise.all(
        queues.map((queue) =>
          queue.close(settings.shutdownGraceMs + 2 * settings.reportTimeoutMs).catch((error: unknown) => {
            log.warn({ err: error }, 'a queue did not close in time');
          }),
        ),
      );
      clearTimeout(graceTimer);
      await health.close();
      redis.disconnect();
      healthClient.close();
      data.close();
      log.info({ workerId }, 'worker stopped');
    },
  };
}
