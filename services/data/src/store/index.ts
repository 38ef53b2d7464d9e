import type { Sequelize } from 'sequelize';
import { openDatabase, type DatabaseOptions, type Dialect } from './database';
import { runMigrations } from './migrator';
import { createJobStore, type JobStore } from './job-store';
import { defineJobModels } from './job-models';
import { createJobTypeStore, type JobTypeStore } from './job-type-store';
import { defineModels } from './models';
import { createOrderStore, type OrderStore } from './order-store';
import { createRequestRecordStore, type RequestRecordStore } from './request-record-store';
import { createTransactionRunner, type RunInTransaction } from './transaction';
import { createUserStore, type UserStore } from './user-store';

export type { Tx } from './transaction';
export type { UserRecord } from './user-store';
export type { OrderRecord } from './order-store';
export type {
  DueJob,
  JobRecord,
  JobEventRecord,
  LockedMove,
  NewJobEvent,
  NewJobRecord,
  JobChanges,
  ReportedJob,
} from './job-store';
export type { JobTypeRecord, JobTypeSettings } from './job-type-store';
export { UniqueViolationError } from './store-errors';

export interface Store {
  readonly users: UserStore;
  readonly orders: OrderStore;
  readonly requestRecords: RequestRecordStore;
  readonly jobTypes: JobTypeStore;
  readonly jobs: JobStore;
  readonly dialect: Dialect;
  /** Rows can be locked with SKIP LOCKED, so that several replicas can share work (PostgreSQL). */
  readonly skipsLockedRows: boolean;
  readonly inTransaction: RunInTransaction;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions extends DatabaseOptions {
  readonly migrate: boolean;
}

function createStore(sequelize: Sequelize): Store {
  const models = defineModels(sequelize);
  const jobModels = defineJobModels(sequelize);
  return {
    users: createUserStore(models),
    orders: createOrderStore(models),
    requestRecords: createRequestRecordStore(models),
    jobTypes: createJobTypeStore(jobModels),
    jobs: createJobStore(jobModels),
    dialect: sequelize.getDialect() === 'sqlite' ? 'sqlite' : 'postgres',
    skipsLockedRows: sequelize.getDialect() === 'postgres',
    inTransaction: createTransactionRunner(sequelize),
    ping: async () => {
      await sequelize.query('SELECT 1');
    },
    close: () => sequelize.close(),
  };
}

/** Connects, optionally runs pending migrations, and returns the store. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const sequelize = await openDatabase(options);
  try {
    if (options.migrate) await runMigrations(sequelize);
  } catch (error) {
    await sequelize.close();
    throw error;
  }
  return createStore(sequelize);
}
