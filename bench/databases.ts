/**
 * The bench's own storage: a PostgreSQL database created and dropped, a SQLite file in the temp folder,
 * and a Redis key prefix wiped at the end. Everything lives on 127.0.0.1 and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import type sqlite3 from 'sqlite3';
import { closeSqlite, openSqlite, sqliteAll, sqliteRun, type Row } from './sqlite';

export type Dialect = 'postgres' | 'sqlite';

const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = 'redis://127.0.0.1:6379/0';
/** Every name the bench creates starts with this, so that a leftover is easy to recognize. */
export const BENCH_NAME = `tandem_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
/** Every Redis key of this run starts with this. */
export const REDIS_PREFIX = BENCH_NAME.replace(/_/g, '-');

export interface BenchDatabase {
  readonly dialect: Dialect;
  /** The DATABASE_URL the services and the bare server get. */
  readonly url: string;
  /** Runs one statement with `$1`-style parameters on the bench's own connection. */
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Deletes every job and job event, so that each jobs run starts from the same empty tables. */
  clearJobs(): Promise<void>;
  /** The PostgreSQL backend processes serving this database now (none for SQLite, which runs in-process). */
  serverPids(): Promise<number[]>;
  /** Closes the bench's connection and deletes the database; safe to call twice. */
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function createPostgres(): Promise<BenchDatabase> {
  const name = BENCH_NAME;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined);
  let dropped = false;
  return {
    dialect: 'postgres',
    url: url.toString(),
    query: async (sql, params = []) => (await pool.query<Row>(sql, [...params])).rows,
    clearJobs: async () => {
      await pool.query('TRUNCATE jobs, job_events');
    },
    serverPids: async () =>
      (
        await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')
      ).rows.map((row) => row.pid),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

function createSqlite(): BenchDatabase {
  const file = path.join(os.tmpdir(), `${BENCH_NAME}.sqlite`);
  // Opened at the first query, once the data service has created and migrated the file.
  let connection: Promise<sqlite3.Database> | undefined;
  const db = (): Promise<sqlite3.Database> => (connection ??= openSqlite(file));
  const toSqlite = (sql: string): string => sql.replace(/\$\d+/g, '?');
  return {
    dialect: 'sqlite',
    url: `sqlite:${file}`,
    query: async (sql, params = []) => sqliteAll(await db(), toSqlite(sql), params),
    clearJobs: async () => {
      const open = await db();
      await sqliteRun(open, 'DELETE FROM jobs');
      await sqliteRun(open, 'DELETE FROM job_events');
    },
    serverPids: () => Promise.resolve([]),
    drop: async () => {
      if (connection) await closeSqlite(await connection).catch(() => undefined);
      connection = undefined;
      for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${file}${suffix}`, { force: true });
    },
  };
}

export function createBenchDatabase(dialect: Dialect): Promise<BenchDatabase> {
  return dialect === 'postgres' ? createPostgres() : Promise.resolve(createSqlite());
}

/** The PostgreSQL server's version, such as `15.6`. */
export async function postgresVersion(): Promise<string> {
  const rows = await withAdmin((client) => client.query<{ server_version: string }>('SHOW server_version'));
  return rows.rows[0]?.server_version ?? 'unknown';
}

/** The Redis server's version and process id (Redis runs on this machine: 127.0.0.1). */
export async function redisServer(): Promise<{ version: string; pid: number | undefined }> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const pid = /process_id:(\d+)/.exec(info)?.[1];
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      pid: pid === undefined ? undefined : Number(pid),
    };
  } finally {
    redis.disconnect();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what an earlier bench killed without a chance to clean up (SIGKILL) left behind: databases,
 * SQLite files, temp folders and Redis keys named after a bench process that no longer runs. Answers
 * what it removed.
 */
export async function sweepLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  const stale = (name: string): boolean => {
    const pid = /^tandem[_-]bench[_-](\d+)[_-]/.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid));
  };
  const databases = await withAdmin((client) =>
    client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'tandem\\_bench\\_%'"),
  );
  for (const { datname } of databases.rows.filter((row) => stale(row.datname))) {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`));
    removed.push(`database ${datname}`);
  }
  for (const entry of fs.readdirSync(os.tmpdir()).filter(stale)) {
    fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    removed.push(path.join(os.tmpdir(), entry));
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const prefixes = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'tandem-bench-*', 'COUNT', 1000);
      for (const key of keys.filter(stale)) {
        await redis.del(key);
        prefixes.add(/^tandem-bench-\d+-[0-9a-f]+/.exec(key)?.[0] ?? key);
      }
      cursor = next;
    } while (cursor !== '0');
    removed.push(...[...prefixes].map((prefix) => `Redis keys ${prefix}*`));
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** Deletes the Redis keys that start with `prefix`: by default every key this run wrote. */
export async function deleteRedisKeys(prefix = REDIS_PREFIX): Promise<number> {
  if (!prefix.startsWith(REDIS_PREFIX)) throw new Error(`refusing to delete keys outside ${REDIS_PREFIX}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
