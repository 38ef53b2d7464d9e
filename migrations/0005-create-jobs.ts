import { DataTypes, Op } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  // `type` is the job type's name as a plain column; the type is read by an explicit query.
  await queryInterface.createTable('jobs', {
    id: { type: DataTypes.UUID, primaryKey: true },
    type: { type: DataTypes.STRING(63), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    queue: { type: DataTypes.STRING(16), allowNull: false },
    payload: { type: DataTypes.TEXT, allowNull: false },
    result: { type: DataTypes.TEXT, allowNull: true },
    last_error: { type: DataTypes.TEXT, allowNull: true },
    attempt: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    failed_attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    max_attempts: { type: DataTypes.INTEGER, allowNull: false },
    run_at: { type: DataTypes.DATE, allowNull: false },
    idempotency_key: { type: DataTypes.STRING(200), allowNull: true },
    progress: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    progress_message: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
    cancel_requested: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    worker_id: { type: DataTypes.STRING(128), allowNull: true },
    lease_expires_at: { type: DataTypes.DATE, allowNull: true },
    queued_at: { type: DataTypes.DATE, allowNull: true },
    finished_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  // Enqueue: one job per type and idempotency key.
  await queryInterface.addIndex('jobs', ['type', 'idempotency_key'], {
    name: 'jobs_type_idempotency_key_key',
    unique: true,
    where: { idempotency_key: { [Op.ne]: null } },
  });
  // The dispatcher: due pending and retrying jobs.
  await queryInterface.addIndex('jobs', ['state', 'run_at'], { name: 'jobs_state_run_at_idx' });
  // The lease sweeper: running jobs whose lease expired.
  await queryInterface.addIndex('jobs', ['state', 'lease_expires_at'], { name: 'jobs_state_lease_idx' });
  // The reconciler: jobs queued long ago.
  await queryInterface.addIndex('jobs', ['state', 'queued_at'], { name: 'jobs_state_queued_at_idx' });
  // The retention sweeper: a type's finished jobs by age.
  await queryInterface.addIndex('jobs', ['type', 'finished_at'], { name: 'jobs_type_finished_at_idx' });
  // ListJobs newest first, by type or state; CountJobs by type and state.
  await queryInterface.addIndex('jobs', ['type', 'state', 'id'], { name: 'jobs_type_state_id_idx' });
  await queryInterface.addIndex('jobs', ['state', 'id'], { name: 'jobs_state_id_idx' });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('jobs');
};
