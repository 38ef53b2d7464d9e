import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import { TIMESTAMPS } from './models';

export class JobTypeRow extends Model<InferAttributes<JobTypeRow>, InferCreationAttributes<JobTypeRow>> {
  declare name: string;
  declare queue: string;
  declare maxAttempts: number;
  declare backoffKind: string;
  declare backoffBaseMs: number;
  declare backoffCapMs: number;
  declare backoffJitter: number;
  declare timeoutMs: number;
  declare retentionMs: number | string;
  declare paused: boolean;
  declare version: number;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class JobRow extends Model<InferAttributes<JobRow>, InferCreationAttributes<JobRow>> {
  declare id: string;
  declare type: string;
  declare state: string;
  declare queue: string;
  declare payload: string;
  declare result: string | null;
  declare lastError: string | null;
  declare attempt: number;
  declare failedAttempts: number;
  declare maxAttempts: number;
  declare runAt: Date;
  declare idempotencyKey: string | null;
  declare progress: number;
  declare progressMessage: string;
  declare cancelRequested: boolean;
  declare workerId: string | null;
  declare leaseExpiresAt: Date | null;
  declare queuedAt: Date | null;
  declare finishedAt: Date | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class JobEventRow extends Model<InferAttributes<JobEventRow>, InferCreationAttributes<JobEventRow>> {
  declare id: CreationOptional<number | string>;
  declare jobId: string;
  declare attempt: number;
  declare fromState: string | null;
  declare toState: string;
  declare progress: number | null;
  declare message: string;
  declare workerId: string | null;
  declare createdAt: CreationOptional<Date>;
}

export interface JobModels {
  readonly JobType: typeof JobTypeRow;
  readonly Job: typeof JobRow;
  readonly JobEvent: typeof JobEventRow;
}

/** The job models of one connection (see defineModels): no associations, ids are plain columns. */
export function defineJobModels(sequelize: Sequelize): JobModels {
  class JobType extends JobTypeRow {}
  class Job extends JobRow {}
  class JobEvent extends JobEventRow {}
  JobType.init(
    {
      name: { type: DataTypes.STRING(63), primaryKey: true },
      queue: { type: DataTypes.STRING(16), allowNull: false },
      maxAttempts: { type: DataTypes.INTEGER, allowNull: false },
      backoffKind: { type: DataTypes.STRING(16), allowNull: false },
      backoffBaseMs: { type: DataTypes.INTEGER, allowNull: false },
      backoffCapMs: { type: DataTypes.INTEGER, allowNull: false },
      backoffJitter: { type: DataTypes.DOUBLE, allowNull: false },
      timeoutMs: { type: DataTypes.INTEGER, allowNull: false },
      retentionMs: { type: DataTypes.BIGINT, allowNull: false },
      paused: { type: DataTypes.BOOLEAN, allowNull: false },
      version: { type: DataTypes.INTEGER, allowNull: false },
      ...TIMESTAMPS,
    },
    { sequelize, tableName: 'job_types', underscored: true },
  );
  Job.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      type: { type: DataTypes.STRING(63), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      queue: { type: DataTypes.STRING(16), allowNull: false },
      payload: { type: DataTypes.TEXT, allowNull: false },
      result: { type: DataTypes.TEXT, allowNull: true },
      lastError: { type: DataTypes.TEXT, allowNull: true },
      attempt: { type: DataTypes.INTEGER, allowNull: false },
      failedAttempts: { type: DataTypes.INTEGER, allowNull: false },
      maxAttempts: { type: DataTypes.INTEGER, allowNull: false },
      runAt: { type: DataTypes.DATE, allowNull: false },
      idempotencyKey: { type: DataTypes.STRING(200), allowNull: true },
      progress: { type: DataTypes.INTEGER, allowNull: false },
      progressMessage: { type: DataTypes.STRING(500), allowNull: false },
      cancelRequested: { type: DataTypes.BOOLEAN, allowNull: false },
      workerId: { type: DataTypes.STRING(128), allowNull: true },
      leaseExpiresAt: { type: DataTypes.DATE, allowNull: true },
      queuedAt: { type: DataTypes.DATE, allowNull: true },
      finishedAt: { type: DataTypes.DATE, allowNull: true },
      ...TIMESTAMPS,
    },
    { sequelize, tableName: 'jobs', underscored: true },
  );
  JobEvent.init(
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      jobId: { type: DataTypes.UUID, allowNull: false },
      attempt: { type: DataTypes.INTEGER, allowNull: false },
      fromState: { type: DataTypes.STRING(16), allowNull: true },
      toState: { type: DataTypes.STRING(16), allowNull: false },
      progress: { type: DataTypes.INTEGER, allowNull: true },
      message: { type: DataTypes.TEXT, allowNull: false },
      workerId: { type: DataTypes.STRING(128), allowNull: true },
      createdAt: { type: DataTypes.DATE, allowNull: false },
    },
    { sequelize, tableName: 'job_events', underscored: true, updatedAt: false },
  );
  return { JobType, Job, JobEvent };
}
