/**
 * Tandem as the bench runs it: the compiled data service and the bench's no-op worker as child
 * processes, configured through their environment, and the rows the CRUD runs read.
 */
import path from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import {
  HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
} from '../proto/gen/grpc/health/v1/health';
import { CreateOrderRequest, OrderServiceClient } from '../proto/gen/tandem/v1/order';
import { CreateUserRequest, UserServiceClient } from '../proto/gen/tandem/v1/user';
import { REDIS_URL, type BenchDatabase } from './databases';
import { CHILD_NODE_ENV, DIST, freePort, isReady, spawnNode, type Child } from './processes';
import { sleep } from './stats';

export const NOOP_TYPE = 'bench.noop';
export const LATENCY_TYPE = 'bench.latency';
const JOB_TYPES = [NOOP_TYPE, LATENCY_TYPE].map((name) => ({ name, queue: 'default', timeoutMs: 60_000 }));
const START_TIMEOUT_MS = 60_000;
/**
 * The services log at warn, not at their default info, at which a worker writes a line for every job:
 * bare bee-queue logs nothing. Every run's notes say so.
 */
export const SERVICE_LOG_LEVEL = 'warn';

export interface TandemSetup {
  readonly db: BenchDatabase;
  readonly redisPrefix: string;
  /** Where files the services might write go (a temp folder). */
  readonly dataDir: string;
}

export interface DataService {
  readonly child: Child;
  readonly address: string;
}

function baseEnv(setup: TandemSetup): Record<string, string> {
  return {
    NODE_ENV: CHILD_NODE_ENV,
    DATA_DIR: setup.dataDir,
    DATABASE_URL: setup.db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: setup.redisPrefix,
    LOG_LEVEL: SERVICE_LOG_LEVEL,
    DATABASE_MIGRATE_ON_START: 'true',
    JOB_TYPES: JSON.stringify(JOB_TYPES),
    JOBS_WELCOME_EMAIL: 'false',
  };
}

function healthy(address: string): Promise<boolean> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise<boolean>((resolve) => {
    client.check(
      HealthCheckRequest.fromPartial({}),
      new Metadata(),
      { deadline: Date.now() + 1000 },
      (error, response) => resolve(!error && response.status === ServingStatus.SERVING),
    );
  }).finally(() => client.close());
}

/** Starts `node dist/services/data/src/main.js` and waits until it answers health checks. */
export async function startDataService(setup: TandemSetup): Promise<DataService> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const child = spawnNode('data service', path.join(DIST, 'services/data/src/main.js'), {
    guard: true,
    env: { ...baseEnv(setup), GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port) },
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await healthy(address))) {
    if (!child.running()) throw new Error(`the data service exited at start:\n${child.tail()}`);
    if (Date.now() > deadline) throw new Error(`the data service did not become healthy:\n${child.tail()}`);
    await sleep(100);
  }
  return { child, address };
}

/** Starts `count` no-op workers (dist/bench/noop-worker-main.js) and waits until each consumes its queues. */
export async function startWorkers(
  setup: TandemSetup,
  dataService: DataService,
  count: number,
  concurrency: number,
): Promise<Child[]> {
  const workers = Array.from({ length: count }, (_unused, index) =>
    spawnNode(`worker ${index + 1}`, path.join(DIST, 'bench/noop-worker-main.js'), {
      env: {
        ...baseEnv(setup),
        DATA_SERVICE_ADDRESS: dataService.address,
        WORKER_CONCURRENCY: String(concurrency),
        WORKER_HEALTH_PORT: '0',
        WORKER_ID: `bench-worker-${index + 1}`,
      },
    }),
  );
  await Promise.all(workers.map((worker) => worker.waitForMessage(isReady, START_TIMEOUT_MS)));
  return workers;
}

export async function stopAllOf(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((child) => child.stop(10_000)));
}

function unary<T>(call: (done: (error: Error | null, response: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, response) => (error ? reject(error) : resolve(response))));
}

/**
 * Creates `users` users (each with `ordersPerUser` orders) through Tandem's own API, a few calls at a time:
 * CreateUser hashes a password with scrypt, which is slow on purpose. Answers the user ids.
 */
export async function seed(address: string, users: number, ordersPerUser: number): Promise<string[]> {
  const userClient = new UserServiceClient(address, credentials.createInsecure());
  const orderClient = new OrderServiceClient(address, credentials.createInsecure());
  const ids: string[] = [];
  let next = 0;
  const createOne = async (): Promise<void> => {
    for (let index = next++; index < users; index = next++) {
      const user = await unary<{ id: string }>((done) =>
        userClient.createUser(
          CreateUserRequest.fromPartial({
            user: { username: `bench_user_${index}`, email: `bench${index}@example.com`, password: 'bench-password' },
          }),
          done,
        ),
      );
      ids.push(user.id);
      for (let order = 0; order < ordersPerUser; order += 1) {
        await unary((done) =>
          orderClient.createOrder(
            CreateOrderRequest.fromPartial({ order: { userId: user.id, amountMinor: '1000', currency: 'EUR' } }),
            done,
          ),
        );
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 4 }, createOne));
  } finally {
    userClient.close();
    orderClient.close();
  }
  return ids;
}
