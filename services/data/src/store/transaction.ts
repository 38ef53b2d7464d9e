import { QueryTypes, Transaction, UniqueConstraintError, type Sequelize } from 'sequelize';
import { UniqueViolationError } from './store-errors';

declare const TX_BRAND: unique symbol;

/** An open transaction, opaque above the store. */
export interface Tx {
  readonly [TX_BRAND]: true;
}

export function asTransaction(tx: Tx | undefined): Transaction | undefined {
  return tx as unknown as Transaction | undefined;
}

export interface TransactionOptions {
  /**
   * False lets PostgreSQL answer the COMMIT before its WAL reaches the disk (synchronous_commit off): the
   * commit is as atomic and as visible as any other, but a crash of the database server in the next
   * fraction of a second can undo it. Only for writes whose loss the pipeline repairs by itself. SQLite
   * ignores it.
   */
  readonly durable?: boolean;
}

export type RunInTransaction = <T>(work: (tx: Tx) => Promise<T>, options?: TransactionOptions) => Promise<T>;

/** SQL with `?` for each replacement. */
export interface Statement {
  readonly sql: string;
  readonly replacements: unknown[];
}

/** Statements as one multi-statement query (PostgreSQL's simple protocol runs them in order). */
export function joinStatements(statements: readonly Statement[]): Statement {
  // Most queries are one statement; a batch INSERT's replacements run to thousands, not worth copying.
  const [only] = statements;
  if (only && statements.length === 1) return only;
  const replacements: unknown[] = [];
  for (const statement of statements) for (const value of statement.replacements) replacements.push(value);
  return { sql: statements.map((statement) => statement.sql).join(';\n'), replacements };
}

const START: Statement = { sql: 'START TRANSACTION', replacements: [] };
const NOT_DURABLE: Statement = { sql: 'SET LOCAL synchronous_commit = off', replacements: [] };
const COMMIT: Statement = { sql: 'COMMIT', replacements: [] };

/** What Sequelize 6's Transaction has without declaring it, and FoldedTransaction builds on. */
interface TransactionInternals {
  prepareEnvironment(useCls: boolean): Promise<void>;
  cleanup(): void;
  finished?: 'commit' | 'rollback';
}

function internals(transaction: Transaction): TransactionInternals {
  return transaction as unknown as TransactionInternals;
}

/**
 * A PostgreSQL transaction that sends no round trip of its own where it can ride on its work's: START
 * TRANSACTION goes out with the first statement, and writes whose results nobody reads (`defer`) wait
 * to go out with the next statement or the COMMIT. Each round trip wakes the backend and then this
 * process, a tenth to half a millisecond here, and a job's dispatch, start and completion each wait on a
 * transaction: folding saves two trips per transaction.
 */
class FoldedTransaction extends Transaction {
  private begun = false;
  private deferred: Statement[] = [];

  constructor(
    private readonly database: Sequelize,
    private readonly durable: boolean,
  ) {
    super(database, {});
  }

  /** Called by Sequelize once the connection is taken; the START rides on the first statement. */
  async begin(): Promise<void> {}

  get hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  defer(statements: readonly Statement[]): void {
    this.deferred.push(...statements);
  }

  /** The statements to send before the next one (none once begun with nothing deferred), marked as sent. */
  takeOwed(): Statement[] {
    const owed = this.begun ? this.deferred : [START, ...(this.durable ? [] : [NOT_DURABLE]), ...this.deferred];
    this.begun = true;
    this.deferred = [];
    return owed;
  }

  override async commit(): Promise<void> {
    // A transaction that sent nothing and defers nothing has nothing to commit.
    if (this.begun || this.hasDeferred) {
      const { sql, replacements } = joinStatements([...this.takeOwed(), COMMIT]);
      try {
        await this.database.query(sql, { transaction: this, replacements, type: QueryTypes.RAW });
      } catch (error) {
        // A deferred write failed (the transaction is aborted) or the COMMIT did (it is over): either way
        // ROLLBACK leaves the connection clean, and Sequelize drops a connection that cannot.
        await super.rollback().catch(() => undefined);
        throw error;
      }
    }
    this.finish('commit');
  }

  override async rollback(): Promise<void> {
    this.deferred = [];
    if (this.begun) {
      await super.rollback();
      return;
    }
    this.finish('rollback');
  }

  private finish(how: 'commit' | 'rollback'): void {
    internals(this).cleanup();
    internals(this).finished = how;
  }
}

/** The statements a folded transaction owes before its next one, taken; none for any other transaction. */
export function takeOwed(transaction: Transaction | undefined): Statement[] {
  return transaction instanceof FoldedTransaction ? transaction.takeOwed() : [];
}

/** Sends what a folded transaction owes as a query of its own; nothing for any other transaction. */
export async function sendOwed(sequelize: Sequelize, transaction: Transaction | undefined): Promise<void> {
  const owed = takeOwed(transaction);
  if (owed.length === 0) return;
  const { sql, replacements } = joinStatements(owed);
  await sequelize.query(sql, { transaction, replacements, type: QueryTypes.RAW });
}

/** Whether `transaction` holds writes that wait for its next statement. */
export function hasDeferredWrites(transaction: Transaction | undefined): boolean {
  return transaction instanceof FoldedTransaction && transaction.hasDeferred;
}

/**
 * Lets writes in `transaction` wait for its next statement or its COMMIT; answers false for a
 * transaction that cannot (the caller runs them at once).
 */
export function deferWrites(transaction: Transaction | undefined, statements: readonly Statement[]): boolean {
  if (!(transaction instanceof FoldedTransaction)) return false;
  transaction.defer(statements);
  return true;
}

async function runFolded<T>(
  sequelize: Sequelize,
  work: (tx: Tx) => Promise<T>,
  { durable = true }: TransactionOptions = {},
): Promise<T> {
  const transaction = new FoldedTransaction(sequelize, durable);
  await internals(transaction).prepareEnvironment(false);
  let result: T;
  try {
    result = await work(transaction as unknown as Tx);
  } catch (error) {
    await transaction.rollback().catch(() => undefined);
    throw error;
  }
  await transaction.commit();
  return result;
}

/**
 * Runs `work` in one transaction: committed if it resolves, rolled back if it throws.
 *
 * On PostgreSQL the transaction is folded (see FoldedTransaction). The store's plain-SQL statements
 * carry what it owes themselves; any other query in it (a model method) first sends what is owed on its
 * own, so that nothing ever runs outside the transaction or before a write it follows.
 *
 * On SQLite this process's transactions take turns: a writer waiting for the file lock sleeps inside a
 * libuv pool thread, so four waiting writers would hold every pool thread and starve the one that holds
 * the lock until their busy timeouts expire.
 */
export function createTransactionRunner(sequelize: Sequelize): RunInTransaction {
  if (sequelize.getDialect() === 'postgres') {
    sequelize.addHook('beforeQuery', (options) => sendOwed(sequelize, options.transaction ?? undefined));
    return (work, options) => runFolded(sequelize, work, options);
  }
  const run: RunInTransaction = (work) => sequelize.transaction((transaction) => work(transaction as unknown as Tx));
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
