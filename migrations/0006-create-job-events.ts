import { DataTypes } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  // The audit trail: rows are only ever inserted, and deleted with their job by the retention sweeper.
  await queryInterface.createTable('job_events', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    job_id: { type: DataTypes.UUID, allowNull: false },
    attempt: { type: DataTypes.INTEGER, allowNull: false },
    from_state: { type: DataTypes.STRING(16), allowNull: true },
    to_state: { type: DataTypes.STRING(16), allowNull: false },
    progress: { type: DataTypes.INTEGER, allowNull: true },
    message: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
    worker_id: { type: DataTypes.STRING(128), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  // ListJobEvents and WatchJob read a job's events in order.
  await queryInterface.addIndex('job_events', ['job_id', 'id'], { name: 'job_events_job_id_id_idx' });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('job_events');
};
