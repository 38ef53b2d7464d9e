import { Op, fn, col, where, type WhereOptions } from 'sequelize';
import type { Models, UserRow } from './models';
import { plainRows } from './plain-rows';
import { asTransaction, translateUniqueViolation, type Tx } from './transaction';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly status: string;
  readonly orderCount: number;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly deletedAt: Date | null;
}

export interface NewUserRecord {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly status: string;
}

export interface UserChanges {
  readonly username?: string;
  readonly email?: string;
  readonly passwordHash?: string;
  readonly status?: string;
}

export interface UserListQuery {
  readonly afterId: string | undefined;
  readonly limit: number;
  readonly status: string | undefined;
  readonly usernamePrefix: string;
  readonly showDeleted: boolean;
}

/** A user row as read, by a model query or as a plain row. */
type UserRowValues = Pick<UserRow, keyof UserRecord>;

function toRecord(row: UserRowValues): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    status: row.status,
    orderCount: row.orderCount,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    deletedAt: row.deletedAt ?? null,
  };
}

/** Reads and writes users; every function returns plain records. */
export function createUserStore({ User }: Models) {
  const userRows = plainRows<UserRowValues, never>(User);

  async function insertUser(tx: Tx, user: NewUserRecord): Promise<UserRecord> {
    const row = await translateUniqueViolation(() =>
      User.create({ ...user, orderCount: 0, version: 1 }, { transaction: asTransaction(tx) }),
    );
    return toRecord(row);
  }

  /**
   * Finds a user whether deleted or not; `lock` holds the row until the transaction ends. The hottest read
   * of the service, so a plain statement: `findByPk` builds its SQL and a model instance on every call,
   * and on SQLite reads `PRAGMA table_info` before every SELECT of a model.
   */
  async function findUser(id: string, tx?: Tx, lock = false): Promise<UserRecord | null> {
    const [row] = await userRows.select(tx, 'WHERE id = ?', [id], lock ? 'update' : undefined);
    return row ? toRecord(row) : null;
  }

  async function listUsers(query: UserListQuery): Promise<UserRecord[]> {
    const conditions: WhereOptions[] = [];
    if (query.afterId) conditions.push({ id: { [Op.gt]: query.afterId } });
    if (query.status) conditions.push({ status: query.status });
    if (query.usernamePrefix) {
      conditions.push(where(fn('substr', col('username'), 1, query.usernamePrefix.length), query.usernamePrefix));
    }
    const rows = await User.findAll({
      where: { [Op.and]: conditions },
      order: [['id', 'ASC']],
      limit: query.limit,
      paranoid: !query.showDeleted,
    });
    return rows.map(toRecord);
  }

  /** Applies `changes` only if the user still has `version`; answers false when it does not. */
  async function updateUser(tx: Tx, id: string, version: number, changes: UserChanges): Promise<boolean> {
    const [count] = await translateUniqueViolation(() =>
      User.update(
        { ...changes, version: version + 1 },
        { where: { id, version }, transaction: asTransaction(tx), paranoid: false },
      ),
    );
    return count === 1;
  }

  async function softDeleteUser(tx: Tx, id: string, version: number): Promise<boolean> {
    const transaction = asTransaction(tx);
    const count = await User.destroy({ where: { id, version }, transaction });
    if (count === 0) return false;
    await User.increment('version', { where: { id }, transaction });
    return true;
  }

  async function restoreUser(tx: Tx, id: string): Promise<void> {
    const transaction = asTransaction(tx);
    await translateUniqueViolation(() => User.restore({ where: { id }, transaction }));
    await User.increment('version', { where: { id }, transaction });
  }

  async function addToOrderCount(tx: Tx, id: string, delta: number): Promise<void> {
    await User.increment('orderCount', { by: delta, where: { id }, transaction: asTransaction(tx) });
  }

  return {
    insert: insertUser,
    find: findUser,
    list: listUsers,
    update: updateUser,
    softDelete: softDeleteUser,
    restore: restoreUser,
    addToOrderCount,
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
