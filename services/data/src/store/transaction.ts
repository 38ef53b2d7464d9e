import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { UniqueViolationError } from './store-errors';

declare const TX_BRAND: unique symbol;

/** An open transaction, opaque above the store. */
export interface Tx {
  readonly [TX_BRAND]: true;
}

export function asTransaction(tx: Tx | undefined): Transaction | undefined {
  return tx as unknown as Transaction | undefined;
}

export type RunInTransaction = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/**
 * Runs `work` in one transaction: committed if it resolves, rolled back if it throws. On SQLite this
 * process's transactions take turns: a writer waiting for the file lock sleeps inside a libuv pool
 * thread, so four waiting writers would hold every pool thread and starve the one that holds the lock
 * until their busy timeouts expire.
 */
export function createTransactionRunner(sequelize: Sequelize): RunInTransaction {
  const run: RunInTransaction = (work) => sequelize.transaction((transaction) => work(transaction as unknown as Tx));
  if (sequelize.getDialect() !== 'sqlite') return run;
  let previous: Promise<unknown> = Promise.resolve();
  return (work) => {
    const turn = previous.then(() => run(work));
    previous = turn.catch(() => undefined);
    return turn;
  };
}

/** Turns a unique-index collision into a UniqueViolationError naming its columns. */
export async function translateUniqueViolation<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof UniqueConstraintError) {
      // The SQLite driver lists the columns; PostgreSQL's maps each column to the clashing value.
      const fields: unknown = error.fields;
      throw new UniqueViolationError(Array.isArray(fields) ? fields.map(String) : Object.keys(error.fields));
    }
    throw error;
  }
}
