import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { FrozenConfig } from '../../../config';
import type { Logger } from '../../shared/logger';
import { createBeeQueuePort } from './dispatch/bee-queue-port';
import { startDispatcher } from './dispatch/dispatcher';
import { createDispatch } from './domain/dispatch';
import { forgetOldRequestIds } from './domain/idempotent-create';
import { createJobSignals } from './domain/job-signals';
import { createJobTypeCache } from './domain/job-type-cache';
import { createJobTypes } from './domain/job-types';
import { createJobs } from './domain/jobs';
import { createOrders } from './domain/orders';
import { createUsers } from './domain/users';
import { createWelcomeMailer } from './domain/welcome-mail';
import { createWorkerReports } from './domain/worker-reports';
import { createAuthorizer } from './rpc/auth';
import { addHealth } from './rpc/health';
import { createJobRpc } from './rpc/job-rpc';
import { createJobTypeRpc } from './rpc/job-type-rpc';
import { createOrderRpc } from './rpc/order-rpc';
import { addReflection } from './rpc/reflection';
import { createServiceAdapter } from './rpc/service-adapter';
import { createUserRpc } from './rpc/user-rpc';
import { createWorkerRpc } from './rpc/worker-rpc';
import { openStore } from './store';

export interface DataService {
  /** The port the server listens on (the real one when the config asked for port 0). */
  readonly port: number;
  /** Stops taking calls, lets in-flight ones finish within the grace period, then closes the database. */
  stop(): Promise<void>;
}

const SERVICE_NAMES = [
  'tandem.v1.UserService',
  'tandem.v1.OrderService',
  'tandem.v1.JobService',
  'tandem.v1.JobTypeService',
  'tandem.v1.WorkerService',
];
/** The health entry that tells whether jobs reach Redis. */
export const DISPATCH_HEALTH = 'tandem.v1.Dispatch';

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });
}

/** Waits for in-flight calls up to `graceMs`, then cancels what is left. */
function shutDown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startDataService(config: FrozenConfig, log: Logger): Promise<DataService> {
  const store = await openStore({
    url: config.database.url,
    poolMax: config.database.poolMax,
    migrate: config.database.migrateOnStart,
  });
  const signals = createJobSignals();
  const typeCache = createJobTypeCache(store, config.jobs.typeCacheMs);
  const jobTypes = createJobTypes(store, typeCache);
  const jobs = createJobs(store, signals, { maxPayloadBytes: config.jobs.maxPayloadBytes }, typeCache);
  const reports = createWorkerReports(
    store,
    signals,
    { leaseGraceMs: config.jobs.leaseGraceMs, maxResultBytes: config.jobs.maxResultBytes },
    typeCache,
  );
  const port = createBeeQueuePort(config.redis.url, config.redis.keyPrefix, config.dispatch.redisTimeoutMs);
  const shutdown = new AbortController();
  const server = new Server();
  let dispatcher: { stop(): Promise<void> } | undefined;
  try {
    await jobTypes.upsertDeclared(config.jobs.types);
    const adapt = createServiceAdapter(log, createAuthorizer(config.auth), shutdown.signal);
    const services = [
      createUserRpc(adapt, createUsers(store, config.jobs.welcomeEmail ? createWelcomeMailer(jobs) : undefined)),
      createOrderRpc(adapt, createOrders(store)),
      createJobRpc(adapt, jobs, signals, config.dispatch.watchPollIntervalMs),
      createJobTypeRpc(adapt, jobTypes),
      createWorkerRpc(adapt, reports),
    ] as const;
    for (const [definition, implementation] of services) server.addService(definition, implementation);
    const health = addHealth(
      server,
      SERVICE_NAMES,
      [DISPATCH_HEALTH],
      () => store.ping(),
      config.grpc.healthCheckIntervalMs,
      log,
    );
    addReflection(server, [...SERVICE_NAMES, 'grpc.health.v1.Health']);
    const boundPort = await bind(server, `${config.grpc.host}:${config.grpc.port}`);
    dispatcher = startDispatcher({
      dispatch: createDispatch(store, port, signals),
      reports,
      signals,
      settings: config.dispatch,
      log,
      onDispatchResult: (ok) => {
        health.set(DISPATCH_HEALTH, ok);
      },
      probeRedis: () => port.ping(),
      forgetOldRequestIds: (batch) => forgetOldRequestIds(store, config.grpc.requestIdRetentionMs, batch),
    });
    log.info({ host: config.grpc.host, port: boundPort }, 'data service listening');
    const running = dispatcher;
    return {
      port: boundPort,
      stop: async () => {
        health.markShuttingDown();
        shutdown.abort();
        await running.stop();
        await shutDown(server, config.grpc.shutdownGraceMs);
        health.stop();
        await port.close();
        await store.close();
        log.info('data service stopped');
      },
    };
  } catch (error) {
    shutdown.abort();
    await dispatcher?.stop();
    server.forceShutdown();
    await port.close();
    await store.close();
    throw error;
  }
}
