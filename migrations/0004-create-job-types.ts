import { DataTypes } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.createTable('job_types', {
    name: { type: DataTypes.STRING(63), primaryKey: true },
    queue: { type: DataTypes.STRING(16), allowNull: false },
    max_attempts: { type: DataTypes.INTEGER, allowNull: false },
    backoff_kind: { type: DataTypes.STRING(16), allowNull: false },
    backoff_base_ms: { type: DataTypes.INTEGER, allowNull: false },
    backoff_cap_ms: { type: DataTypes.INTEGER, allowNull: false },
    backoff_jitter: { type: DataTypes.DOUBLE, allowNull: false },
    timeout_ms: { type: DataTypes.INTEGER, allowNull: false },
    retention_ms: { type: DataTypes.BIGINT, allowNull: false },
    paused: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('job_types');
};
