import type { Model, ModelAttributeColumnOptions, ModelStatic } from 'sequelize';
import { asTransaction, type Tx } from './transaction';

/**
 * Rows of the job pipeline's hot paths as plain objects, without a Sequelize model instance per row:
 * building instances cost about four fifths of the CPU of a batch insert and three fifths of a batch
 * read. The SQL is the one the model would run: same columns, same value formatting.
 */
export interface PlainRows<Read, Write> {
  /** Inserts rows given by attribute name; the caller sets the timestamps. */
  insert(tx: Tx, rows: readonly Write[]): Promise<void>;
  /** A row read with `raw: true`, typed as the model reads it (SQLite answers dates as text, booleans as 0/1). */
  fromRaw(row: object): Read;
}

function columnOf(name: string, attribute: ModelAttributeColumnOptions): string {
  return (attribute as { field?: string }).field ?? name;
}

function typeKeyOf(attribute: ModelAttributeColumnOptions): string | undefined {
  return (attribute.type as { key?: string } | undefined)?.key;
}

/** `Read` and `Write` are the store's records of the model: what a row reads as, what an insert takes. */
export function plainRows<Read extends object, Write extends object>(
  model: ModelStatic<Model>,
): PlainRows<Read, Write> {
  const queryInterface = model.sequelize?.getQueryInterface();
  if (!queryInterface) throw new Error(`model ${model.name} is not initialised`);
  const attributes: Array<[string, ModelAttributeColumnOptions]> = Object.entries(model.getAttributes());
  const byColumn = Object.fromEntries(attributes.map(([name, attribute]) => [columnOf(name, attribute), attribute]));
  const columns = new Map(attributes.map(([name, attribute]) => [name, columnOf(name, attribute)]));
  const dates = attributes.filter(([, attribute]) => typeKeyOf(attribute) === 'DATE').map(([name]) => name);
  const booleans = attributes.filter(([, attribute]) => typeKeyOf(attribute) === 'BOOLEAN').map(([name]) => name);

  return {
    insert: async (tx, rows) => {
      if (rows.length === 0) return;
      const records = rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([name, value]) => [columns.get(name) ?? name, value])),
      );
      await queryInterface.bulkInsert(model.getTableName(), records, { transaction: asTransaction(tx) }, byColumn);
    },
    fromRaw: (row) => {
      const record: Record<string, unknown> = { ...row };
      for (const name of dates) {
        const value = record[name];
        if (typeof value === 'string') record[name] = new Date(value);
      }
      for (const name of booleans) {
        const value = record[name];
        if (typeof value === 'number') record[name] = value !== 0;
      }
      return record as Read;
    },
  };
}
