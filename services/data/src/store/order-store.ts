import { Op, type WhereOptions } from 'sequelize';
import type { Models, OrderRow } from './models';
import { asTransaction, type Tx } from './transaction';

export interface OrderRecord {
  readonly id: string;
  readonly userId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly status: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewOrderRecord {
  readonly id: string;
  readonly userId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly status: string;
}

export interface OrderListQuery {
  readonly afterId: string | undefined;
  readonly limit: number;
  readonly userId: string | undefined;
  readonly status: string | undefined;
}

function toRecord(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    userId: row.userId,
    // PostgreSQL returns BIGINT as a string; amounts are bounded to safe integers on input.
    amountMinor: Number(row.amountMinor),
    currency: row.currency,
    status: row.status,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Reads and writes orders; every function returns plain records. */
export function createOrderStore({ Order }: Models) {
  async function insert(tx: Tx, order: NewOrderRecord): Promise<OrderRecord> {
    const row = await Order.create({ ...order, version: 1 }, { transaction: asTransaction(tx) });
    return toRecord(row);
  }

  async function find(id: string, tx?: Tx): Promise<OrderRecord | null> {
    const row = await Order.findByPk(id, { transaction: asTransaction(tx) });
    return row ? toRecord(row) : null;
  }

  async function list(query: OrderListQuery): Promise<OrderRecord[]> {
    const conditions: WhereOptions[] = [];
    if (query.afterId) conditions.push({ id: { [Op.gt]: query.afterId } });
    if (query.userId) conditions.push({ userId: query.userId });
    if (query.status) conditions.push({ status: query.status });
    const rows = await Order.findAll({ where: { [Op.and]: conditions }, order: [['id', 'ASC']], limit: query.limit });
    return rows.map(toRecord);
  }

  /** Sets the status only if the order still has `version`; answers false when it does not. */
  async function updateStatus(tx: Tx, id: string, version: number, status: string): Promise<boolean> {
    const [count] = await Order.update(
      { status, version: version + 1 },
      { where: { id, version }, transaction: asTransaction(tx) },
    );
    return count === 1;
  }

  async function remove(tx: Tx, id: string, version: number): Promise<boolean> {
    const count = await Order.destroy({ where: { id, version }, transaction: asTransaction(tx) });
    return count === 1;
  }

  return { insert, find, list, updateStatus, remove };
}

export type OrderStore = ReturnType<typeof createOrderStore>;
