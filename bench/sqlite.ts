import sqlite3 from 'sqlite3';

/** Tandem's SQLite connections wait this long for the file lock; the bench's do the same. */
const BUSY_TIMEOUT_MS = 10_000;

export type Row = Record<string, unknown>;

export function openSqlite(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (error) => {
      if (error) reject(error);
      else {
        db.configure('busyTimeout', BUSY_TIMEOUT_MS);
        resolve(db);
      }
    });
  });
}

export function sqliteAll(db: sqlite3.Database, sql: string, params: readonly unknown[] = []): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    db.all(sql, params, (error: Error | null, rows: Row[]) => (error ? reject(error) : resolve(rows)));
  });
}

export function sqliteRun(db: sqlite3.Database, sql: string, params: readonly unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    db.run(sql, params, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

export function closeSqlite(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve, reject) => {
    db.close((error) => (error ? reject(error) : resolve()));
  });
}

/** A date as Sequelize stores it in SQLite: `2024-01-31 12:34:56.789 +00:00`. */
export function toSqliteDate(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', ' +00:00');
}

/** Reads a date column of either database: PostgreSQL gives a Date, SQLite Sequelize's text. */
export function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== 'string') return undefined;
  const date = new Date(value.replace(' ', 'T').replace(' +00:00', 'Z'));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
