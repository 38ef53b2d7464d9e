import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';

export class UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
  declare id: string;
  declare username: string;
  declare email: string;
  declare passwordHash: string;
  declare status: string;
  declare orderCount: number;
  declare version: number;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
  declare deletedAt: CreationOptional<Date | null>;
}

export class OrderRow extends Model<InferAttributes<OrderRow>, InferCreationAttributes<OrderRow>> {
  declare id: string;
  declare userId: string;
  declare amountMinor: number | string;
  declare currency: string;
  declare status: string;
  declare version: number;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class RequestRecordRow extends Model<
  InferAttributes<RequestRecordRow>,
  InferCreationAttributes<RequestRecordRow>
> {
  declare method: string;
  declare requestId: string;
  declare resourceId: string;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/** created_at and updated_at, set by Sequelize (never by triggers). */
export const TIMESTAMPS = {
  createdAt: { type: DataTypes.DATE, allowNull: false },
  updatedAt: { type: DataTypes.DATE, allowNull: false },
};

export interface Models {
  readonly User: typeof UserRow;
  readonly Order: typeof OrderRow;
  readonly RequestRecord: typeof RequestRecordRow;
}

/**
 * Defines the models on one connection; each call makes its own classes, so that two databases can be
 * open in one process. They have no associations: related rows are read by explicit queries.
 */
export function defineModels(sequelize: Sequelize): Models {
  class User extends UserRow {}
  class Order extends OrderRow {}
  class RequestRecord extends RequestRecordRow {}
  User.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      username: { type: DataTypes.STRING(32), allowNull: false },
      email: { type: DataTypes.STRING(254), allowNull: false },
      passwordHash: { type: DataTypes.STRING(255), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      orderCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      ...TIMESTAMPS,
      deletedAt: { type: DataTypes.DATE, allowNull: true },
    },
    { sequelize, tableName: 'users', underscored: true, paranoid: true },
  );
  Order.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      amountMinor: { type: DataTypes.BIGINT, allowNull: false },
      currency: { type: DataTypes.STRING(3), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      ...TIMESTAMPS,
    },
    { sequelize, tableName: 'orders', underscored: true },
  );
  RequestRecord.init(
    {
      method: { type: DataTypes.STRING(64), primaryKey: true },
      requestId: { type: DataTypes.STRING(64), primaryKey: true },
      resourceId: { type: DataTypes.STRING(64), allowNull: false },
      ...TIMESTAMPS,
    },
    { sequelize, tableName: 'request_records', underscored: true },
  );
  return { User, Order, RequestRecord };
}
