import { randomBytes } from 'node:crypto';
import { loadConfig, type ConfigOverrides } from '../../config';
import { OrderServiceClient } from '../../proto/gen/tandem/v1/order';
import { JobServiceClient } from '../../proto/gen/tandem/v1/job';
import { JobTypeServiceClient } from '../../proto/gen/tandem/v1/job_type';
import { UserServiceClient } from '../../proto/gen/tandem/v1/user';
import { WorkerServiceClient } from '../../proto/gen/tandem/v1/worker';
import { startDataService } from '../../services/data/src/data-service';
import { createLogger } from '../../services/shared/logger';
import { connect, promiseClient, type PromiseClient } from './grpc-client';
import { createTestDatabase, type Dialect, type TestDatabase } from './test-database';
import { createTestRedisPrefix, type TestRedisPrefix } from './test-redis';

export interface TestDataService {
  readonly dialect: Dialect;
  readonly address: string;
  readonly database: TestDatabase;
  readonly redis: TestRedisPrefix;
  readonly users: PromiseClient<UserServiceClient>;
  readonly orders: PromiseClient<OrderServiceClient>;
  readonly jobs: PromiseClient<JobServiceClient>;
  readonly jobTypes: PromiseClient<JobTypeServiceClient>;
  readonly worker: PromiseClient<WorkerServiceClient>;
  /** The raw JobService client, for WatchJob streams. */
  readonly jobClient: JobServiceClient;
  /** Config overrides that point a worker (or another replica) at this service's Redis prefix. */
  readonly workerOverrides: Record<string, unknown>;
  /** Stops the service; the database stays until `drop()`. */
  stop(): Promise<void>;
  /** Stops the service and drops its database. */
  destroy(): Promise<void>;
}

/** A real data service in this process on a free loopback port, over a database of its own. */
export async function startTestDataService(
  dialect: Dialect,
  overrides: ConfigOverrides = {},
): Promise<TestDataService> {
  const database = await createTestDatabase(dialect);
  const redis = createTestRedisPrefix();
  const config = loadConfig({
    env: 'test',
    'database.url': database.url,
    'redis.url': redis.url,
    'redis.keyPrefix': redis.prefix,
    'grpc.host': '127.0.0.1',
    'grpc.port': 0,
    ...overrides,
  });
  const service = await startDataService(config, createLogger('tandem-data-test', config.log.level));
  const address = `127.0.0.1:${service.port}`;
  const userClient = connect(UserServiceClient, address);
  const orderClient = connect(OrderServiceClient, address);
  const jobClient = connect(JobServiceClient, address);
  const jobTypeClient = connect(JobTypeServiceClient, address);
  const workerClient = connect(WorkerServiceClient, address);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const client of [userClient, orderClient, jobClient, jobTypeClient, workerClient]) client.close();
    await service.stop();
  };
  return {
    dialect,
    address,
    database,
    redis,
    users: promiseClient(userClient),
    orders: promiseClient(orderClient),
    jobs: promiseClient(jobClient),
    jobTypes: promiseClient(jobTypeClient),
    worker: promiseClient(workerClient),
    jobClient,
    workerOverrides: {
      env: 'test',
      'redis.url': redis.url,
      'redis.keyPrefix': redis.prefix,
      'worker.dataServiceAddress': address,
      'worker.healthPort': 0,
    },
    stop,
    destroy: async () => {
      await stop();
      await database.drop();
      await redis.drop();
    },
  };
}

/** A username nobody else in the run has: tests never depend on each other's rows. */
export function uniqueUsername(prefix = 'u'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function newUserInput(username = uniqueUsername()) {
  return { username, email: `${username}@example.com`, password: 'correct horse battery', status: 0 };
}
