import { prepareValue } from 'pg/lib/utils';
import { QueryTypes, type Model, type ModelAttributeColumnOptions, type ModelStatic, type Sequelize } from 'sequelize';
import {
  asTransaction,
  deferWrites,
  hasDeferredWrites,
  joinStatements,
  sendOwed,
  takeOwed,
  type Statement,
  type Tx,
} from './transaction';

export type { Statement } from './transaction';

/**
 * The job pipeline's hot statements as SQL run through `sequelize.query`, with rows as plain objects.
 * Measured on PostgreSQL: an UPDATE of 33 jobs costs 1.16 ms of CPU through Model.update and 0.19 ms
 * this way, a SELECT of 33 jobs 0.94 ms through findAll and 0.42 ms this way, and model instances made
 * bulk inserts five times dearer; a job runs through a dozen such statements. The SQL works on both
 * dialects: values are escaped by Sequelize for the connection's dialect, dates are written as the text
 * the models write, and only the lock clause differs.
 */
export interface PlainRows<Read, Write> {
  /** Inserts rows given by attribute name; the caller sets the timestamps. */
  insert(tx: Tx, rows: readonly Write[]): Promise<void>;
  /** The statement `insert` runs, for `runStatements`; undefined for no rows. */
  insertStatement(rows: readonly Write[]): Statement | undefined;
  /**
   * Rows matching `condition` (SQL after `FROM table`, such as `WHERE id IN (?) ORDER BY id`, with `?`
   * for each replacement; an array fills an `IN (?)`). With `lock`, PostgreSQL locks them until `tx`
   * ends (SQLite's transactions already take turns).
   */
  select(tx: Tx | undefined, condition: string, replacements: readonly unknown[], lock?: RowLock): Promise<Read[]>;
  /**
   * Only the named attributes of the rows matching `condition`. `before` is a statement (such as a
   * `SET LOCAL`) that runs just before, in the same round trip on PostgreSQL.
   */
  selectSome<K extends keyof Read & string>(
    tx: Tx | undefined,
    attributes: readonly K[],
    condition: string,
    replacements: readonly unknown[],
    options: { readonly lock?: RowLock; readonly before?: string },
  ): Promise<Array<Pick<Read, K>>>;
  /** Sets `changes` (by attribute name) on the rows matching `condition`; answers how many changed. */
  update(tx: Tx, changes: Partial<Read>, condition: string, replacements: readonly unknown[]): Promise<number>;
  /** The statement `update` runs, for `runStatements`. */
  updateStatement(changes: Partial<Read>, condition: string, replacements: readonly unknown[]): Statement;
}

/**
 * Runs `statements` in `tx`, in one round trip with what a folded transaction owes before them (see
 * transaction.ts). An UPDATE's answer counts the rows of every statement sent with it, so deferred
 * writes go out on their own before one.
 */
async function queryIn(
  sequelize: Sequelize,
  tx: Tx | undefined,
  statements: readonly Statement[],
  type: QueryTypes.SELECT | QueryTypes.INSERT | QueryTypes.BULKUPDATE | QueryTypes.RAW,
): Promise<unknown> {
  const transaction = asTransaction(tx);
  if (type === QueryTypes.BULKUPDATE && hasDeferredWrites(transaction)) await sendOwed(sequelize, transaction);
  const { sql, replacements } = joinStatements([...takeOwed(transaction), ...statements]);
  return sequelize.query(sql, { replacements, type, transaction });
}

/**
 * Runs writes whose results nobody reads, in order, in `tx`. PostgreSQL takes them as one multi-statement
 * query, one round trip: each trip wakes the backend and then this process, about half a millisecond on
 * a lightly loaded machine here, and a job's start waits on several. With `defer`, they wait to ride on
 * the transaction's next statement or its COMMIT (their errors then surface there): for writes that
 * cannot fail for any reason the caller handles. SQLite runs one statement per call; in-process calls
 * cost little.
 */
export async function runStatements(
  sequelize: Sequelize,
  tx: Tx,
  statements: ReadonlyArray<Statement | undefined>,
  { defer = false }: { readonly defer?: boolean } = {},
): Promise<void> {
  const present = statements.filter((statement): statement is Statement => statement !== undefined);
  if (present.length === 0) return;
  const transaction = asTransaction(tx);
  if (sequelize.getDialect() === 'postgres') {
    if (defer && deferWrites(transaction, present)) return;
    await queryIn(sequelize, tx, present, QueryTypes.RAW);
    return;
  }
  for (const { sql, replacements } of present) {
    await sequelize.query(sql, { replacements, type: QueryTypes.RAW, transaction });
  }
}

/** `update` waits for rows another transaction holds; `skip-locked` leaves them out. */
export type RowLock = 'update' | 'skip-locked';

const LOCK_CLAUSES: Readonly<Record<RowLock, string>> = {
  update: ' FOR UPDATE',
  'skip-locked': ' FOR UPDATE SKIP LOCKED',
};

/**
 * The text Sequelize writes for a DATE when its timezone is UTC (its default, which openDatabase keeps):
 * `2026-11-22 07:27:57.480 +00:00`. SQLite compares these as text, so it must be exactly that; formatting
 * it here costs a fraction of Sequelize's moment-based formatting.
 */
export function utcDateText(date: Date): string {
  return `${date.toISOString().slice(0, 23).replace('T', ' ')} +00:00`;
}

function sqlValue(value: unknown): unknown {
  if (value instanceof Date) return utcDateText(value);
  if (Array.isArray(value)) return value.map(sqlValue);
  return value;
}

/**
 * Values as one PostgreSQL array literal, written by the pg driver's own serializer of array parameters.
 * Elements are already the text `sqlValue` makes (dates as UTC text), so its local-time Date formatting
 * never applies.
 */
function arrayLiteral(values: readonly unknown[]): string {
  const literal = prepareValue(values);
  if (typeof literal !== 'string') throw new Error('pg answered no array literal');
  return literal;
}

function quoted(name: string): string {
  return `"${name}"`;
}

function typeKeyOf(attribute: ModelAttributeColumnOptions): string | undefined {
  return (attribute.type as { key?: string } | undefined)?.key;
}

/** The column's SQL type in the connection's dialect, such as `VARCHAR(63)` or `TIMESTAMP WITH TIME ZONE`. */
function sqlTypeOf(attribute: ModelAttributeColumnOptions): string {
  return (attribute.type as unknown as { toSql(): string }).toSql();
}

/** The connection a model was initialised on. */
export function sequelizeOf(model: ModelStatic<Model>): Sequelize {
  if (!model.sequelize) throw new Error(`model ${model.name} is not initialised`);
  return model.sequelize;
}

/** `Read` and `Write` are the store's records of the model: what a row reads as, what an insert takes. */
export function plainRows<Read extends object, Write extends object>(
  model: ModelStatic<Model>,
): PlainRows<Read, Write> {
  const sequelize = sequelizeOf(model);
  const postgres = sequelize.getDialect() === 'postgres';
  const table = quoted(model.getTableName() as string);
  const attributes: Array<[string, ModelAttributeColumnOptions]> = Object.entries(model.getAttributes());
  /** Each attribute's quoted column and, for PostgreSQL's unnested inserts, its array type. */
  const columns = new Map(
    attributes.map(([name, attribute]) => [
      name,
      { column: quoted((attribute as { field?: string }).field ?? name), arrayType: `${sqlTypeOf(attribute)}[]` },
    ]),
  );
  const selectList = listOf([...columns.keys()]);
  const dates = attributes.filter(([, attribute]) => typeKeyOf(attribute) === 'DATE').map(([name]) => name);
  const booleans = attributes.filter(([, attribute]) => typeKeyOf(attribute) === 'BOOLEAN').map(([name]) => name);

  function columnInfoOf(name: string): { readonly column: string; readonly arrayType: string } {
    const info = columns.get(name);
    if (!info) throw new Error(`${model.name} has no attribute ${name}`);
    return info;
  }

  function columnOf(name: string): string {
    return columnInfoOf(name).column;
  }

  /** A SELECT list that answers each attribute under its own name. */
  function listOf(names: readonly string[]): string {
    return names.map((name) => `${columnOf(name)} AS ${quoted(name)}`).join(', ');
  }

  /** SQLite answers dates as text and booleans as 0 or 1. */
  function fromRaw(row: object): Record<string, unknown> {
    const record: Record<string, unknown> = { ...row };
    for (const name of dates) {
      const value = record[name];
      if (typeof value === 'string') record[name] = new Date(value);
    }
    for (const name of booleans) {
      const value = record[name];
      if (typeof value === 'number') record[name] = value !== 0;
    }
    return record;
  }

  /**
   * On PostgreSQL the rows travel as one array per column, unnested into rows: a VALUES list of 500 jobs
   * holds 10,500 literals that PostgreSQL parses, coerces and plans one by one, while 21 array literals
   * cost it a parse each. Measured on this project's jobs table, 20,000 jobs in batches of 500: 1.0 s of
   * PostgreSQL CPU as VALUES, 0.2 s as arrays. SQLite has no arrays and parses VALUES cheaply.
   */
  function unnestStatement(into: string, names: readonly string[], rows: readonly Write[]): Statement {
    const arrays = names.map((name) => `?::${columnInfoOf(name).arrayType}`).join(', ');
    return {
      sql: `${into} SELECT * FROM unnest(${arrays})`,
      replacements: names.map((name) =>
        arrayLiteral(rows.map((row) => sqlValue((row as Record<string, unknown>)[name]))),
      ),
    };
  }

  function insertStatement(rows: readonly Write[]): Statement | undefined {
    const [first] = rows;
    if (!first) return undefined;
    const names = Object.keys(first);
    const into = `INSERT INTO ${table} (${names.map(columnOf).join(', ')})`;
    if (postgres) return unnestStatement(into, names, rows);
    const tuple = `(${names.map(() => '?').join(', ')})`;
    return {
      sql: `${into} VALUES ${rows.map(() => tuple).join(', ')}`,
      replacements: rows.flatMap((row) => names.map((name) => sqlValue((row as Record<string, unknown>)[name]))),
    };
  }

  function updateStatement(changes: Partial<Read>, condition: string, replacements: readonly unknown[]): Statement {
    const entries = Object.entries(changes);
    const assignments = entries.map(([name]) => `${columnOf(name)} = ?`).join(', ');
    return {
      sql: `UPDATE ${table} SET ${assignments} ${condition}`,
      replacements: [...entries.map(([, value]) => value), ...replacements].map(sqlValue),
    };
  }

  async function selectWith<Row>(
    tx: Tx | undefined,
    list: string,
    condition: string,
    replacements: readonly unknown[],
    { lock, before }: { readonly lock?: RowLock | undefined; readonly before?: string | undefined },
  ): Promise<Row[]> {
    const select = `SELECT ${list} FROM ${table} ${condition}${lock && postgres ? LOCK_CLAUSES[lock] : ''}`;
    if (before !== undefined && !postgres) await sequelize.query(before, { transaction: asTransaction(tx) });
    // A SELECT after statements that return no rows answers its own rows alone.
    const statements = [
      ...(before !== undefined && postgres ? [{ sql: before, replacements: [] }] : []),
      { sql: select, replacements: replacements.map(sqlValue) },
    ];
    const rows = (await queryIn(sequelize, tx, statements, QueryTypes.SELECT)) as object[];
    return rows.map((row) => fromRaw(row) as Row);
  }

  return {
    insert: async (tx, rows) => {
      const statement = insertStatement(rows);
      if (statement) await queryIn(sequelize, tx, [statement], QueryTypes.INSERT);
    },
    insertStatement,
    select: (tx, condition, replacements, lock) => selectWith<Read>(tx, selectList, condition, replacements, { lock }),
    selectSome: <K extends keyof Read & string>(
      tx: Tx | undefined,
      attributes: readonly K[],
      condition: string,
      replacements: readonly unknown[],
      options: { readonly lock?: RowLock; readonly before?: string },
    ) => selectWith<Pick<Read, K>>(tx, listOf(attributes), condition, replacements, options),
    update: async (tx, changes, condition, replacements) =>
      (await queryIn(
        sequelize,
        tx,
        [updateStatement(changes, condition, replacements)],
        QueryTypes.BULKUPDATE,
      )) as number,
    updateStatement,
  };
}
