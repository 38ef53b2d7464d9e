import type { Migration } from '../services/data/src/store/migrator';

/** The sweeper deletes request ids past their retention, oldest first. */
export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.addIndex('request_records', ['created_at'], { name: 'request_records_created_at_idx' });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.removeIndex('request_records', 'request_records_created_at_idx');
};
