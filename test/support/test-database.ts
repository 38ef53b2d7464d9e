import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../config';

export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  readonly dialect: Dialect;
  readonly url: string;
  drop(): Promise<void>;
}

const TEST_NAME = /test/;

function adminUrl(): string {
  return loadConfig().testing.postgresAdminUrl;
}

function uniqueName(): string {
  return `tandem_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Refuses any database whose name does not say test: a run must never touch real data. */
export function assertTestDatabaseName(name: string): void {
  if (!TEST_NAME.test(name)) throw new Error(`refusing to use database "${name}": its name does not say test`);
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database of its own for one test run: a PostgreSQL database or a SQLite file. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const name = uniqueName();
  assertTestDatabaseName(name);
  if (dialect === 'sqlite') {
    const file = path.join(os.tmpdir(), `${name}.sqlite`);
    return {
      dialect,
      url: `sqlite:${file}`,
      drop: () => {
        for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${file}${suffix}`, { force: true });
        return Promise.resolve();
      },
    };
  }
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    drop: async () => {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
