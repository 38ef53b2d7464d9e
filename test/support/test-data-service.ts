import { randomBytes } from 'node:crypto';
import { loadConfig, type ConfigOverrides } from '../../config';
import { OrderServiceClient } from '../../proto/gen/tandem/v1/order';
import { UserServiceClient } from '../../proto/gen/tandem/v1/user';
import { startDataService } from '../../services/data/src/data-service';
import { createLogger } from '../../services/shared/logger';
import { connect, promiseClient, type PromiseClient } from './grpc-client';
import { createTestDatabase, type Dialect, type TestDatabase } from './test-database';

export interface TestDataService {
  readonly dialect: Dialect;
  readonly address: string;
  readonly database: TestDatabase;
  readonly users: PromiseClient<UserServiceClient>;
  readonly orders: PromiseClient<OrderServiceClient>;
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
  const config = loadConfig({
    env: 'test',
    'database.url': database.url,
    'grpc.host': '127.0.0.1',
    'grpc.port': 0,
    ...overrides,
  });
  const service = await startDataService(config, createLogger('tandem-data-test', config.log.level));
  const address = `127.0.0.1:${service.port}`;
  const userClient = connect(UserServiceClient, address);
  const orderClient = connect(OrderServiceClient, address);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    userClient.close();
    orderClient.close();
    await service.stop();
  };
  return {
    dialect,
    address,
    database,
    users: promiseClient(userClient),
    orders: promiseClient(orderClient),
    stop,
    destroy: async () => {
      await stop();
      await database.drop();
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
