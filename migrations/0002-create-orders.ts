import { DataTypes } from 'sequelize';
import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  // user_id is a plain column: the user is checked by an explicit query, never by a foreign key.
  await queryInterface.createTable('orders', {
    id: { type: DataTypes.UUID, primaryKey: true },
    user_id: { type: DataTypes.UUID, allowNull: false },
    amount_minor: { type: DataTypes.BIGINT, allowNull: false },
    currency: { type: DataTypes.STRING(3), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  // ListOrders pages by id, filtered by user, by status, or both.
  await queryInterface.addIndex('orders', ['user_id', 'id'], { name: 'orders_user_id_id_idx' });
  await queryInterface.addIndex('orders', ['status', 'id'], { name: 'orders_status_id_idx' });
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.dropTable('orders');
};
