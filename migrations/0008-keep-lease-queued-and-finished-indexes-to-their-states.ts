import { Op } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

/**
 * Every state change writes a new row version, and PostgreSQL adds it to every index whose predicate it
 * meets. The lease sweeper only looks at running jobs, the reconciler at queued ones and the retention
 * sweeper at finished ones: indexes that hold only those rows take a job's other versions out of three
 * indexes (about a third fewer index entries per job), and stay small.
 */
export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.addIndex('jobs', ['lease_expires_at'], {
    name: 'jobs_running_lease_idx',
    where: { state: 'running' },
  });
  await queryInterface.addIndex('jobs', ['queued_at'], { name: 'jobs_queued_at_idx', where: { state: 'queued' } });
  await queryInterface.addIndex('jobs', ['type', 'finished_at'], {
    name: 'jobs_finished_type_idx',
    where: { finished_at: { [Op.ne]: null } },
  });
  await queryInterface.removeIndex('jobs', 'jobs_state_lease_idx');
  await queryInterface.removeIndex('jobs', 'jobs_state_queued_at_idx');
  await queryInterface.removeIndex('jobs', 'jobs_type_finished_at_idx');
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.addIndex('jobs', ['state', 'lease_expires_at'], { name: 'jobs_state_lease_idx' });
  await queryInterface.addIndex('jobs', ['state', 'queued_at'], { name: 'jobs_state_queued_at_idx' });
  await queryInterface.addIndex('jobs', ['type', 'finished_at'], { name: 'jobs_type_finished_at_idx' });
  await queryInterface.removeIndex('jobs', 'jobs_running_lease_idx');
  await queryInterface.removeIndex('jobs', 'jobs_queued_at_idx');
  await queryInterface.removeIndex('jobs', 'jobs_finished_type_idx');
};
