import { DataTypes } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  // One row per create made with a request_id (AIP-155); the primary key makes a retry collide.
  await queryInterface.createTable('request_records', {
    method: { type: DataTypes.STRING(64), primaryKey: true },
    request_id: { type: DataTypes.STRING(64), primaryKey: true },
    resource_id: { type: DataTypes.STRING(64), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('request_records');
};
