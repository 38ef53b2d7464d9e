import { DataTypes } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.createTable('users', {
    id: { type: DataTypes.UUID, primaryKey: true },
    username: { type: DataTypes.STRING(32), allowNull: false },
    email: { type: DataTypes.STRING(254), allowNull: false },
    password_hash: { type: DataTypes.STRING(255), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    order_count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
    deleted_at: { type: DataTypes.DATE, allowNull: true },
  });
  // Usernames and emails are unique among live users only, so that a deleted user frees them.
  await queryInterface.addIndex('users', ['username'], {
    name: 'users_username_live_key',
    unique: true,
    where: { deleted_at: null },
  });
  await queryInterface.addIndex('users', ['email'], {
    name: 'users_email_live_key',
    unique: true,
    where: { deleted_at: null },
  });
  // ListUsers filtered by status pages by id.
  await queryInterface.addIndex('users', ['status', 'id'], { name: 'users_status_id_idx' });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('users');
};
