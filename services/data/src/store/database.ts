import { Sequelize, Transaction } from 'sequelize';
import sqlite3 from 'sqlite3';

const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * Sequelize opens one SQLite connection per transaction; each must wait for the file lock instead of
 * failing at once with SQLITE_BUSY when another transaction writes.
 */
class WaitingSqliteDatabase extends sqlite3.Database {
  constructor(filename: string, mode: number, callback: (error: Error | null) => void) {
    super(filename, mode, callback);
    this.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
  }
}

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax: number;
}

export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(url: string): Dialect {
  return url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

/** Connects to the database named by a `sqlite:<file>` or `postgres://` URL. */
export async function openDatabase({ url, poolMax }: DatabaseOptions): Promise<Sequelize> {
  const sequelize =
    dialectOf(url) === 'sqlite'
      ? new Sequelize({
          dialect: 'sqlite',
          storage: url.slice('sqlite:'.length),
          dialectModule: { ...sqlite3, Database: WaitingSqliteDatabase },
          // Writers take the lock when they begin, so that two transactions never deadlock upgrading it.
          transactionType: Transaction.TYPES.IMMEDIATE,
          logging: false,
        })
      : new Sequelize(url, {
          dialect: 'postgres',
          pool: { max: poolMax, min: 0, idle: 10_000 },
          logging: false,
        });
  await sequelize.authenticate();
  if (sequelize.getDialect() === 'sqlite') {
    await sequelize.query('PRAGMA journal_mode = WAL');
  }
  return sequelize;
}
