import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes, type Sequelize } from 'sequelize';
import { nextMigrationFile } from '../../services/data/src/migrate-cli';
import { openDatabase } from '../../services/data/src/store/database';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/test-database';

const ROOT = path.resolve(__dirname, '../..');
const CLI = 'services/data/src/migrate-cli.ts';
// Read from the folder, so that adding a migration does not break these tests.
const MIGRATIONS = fs
  .readdirSync(path.join(ROOT, 'migrations'))
  .filter((file) => /^\d{4}-[a-z0-9-]+\.ts$/.test(file))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();
const FIRST = MIGRATIONS[0] ?? '';
const LAST = MIGRATIONS.at(-1) ?? '';
/** Tables made by the first migrations, which later ones only add to. */
const CORE_TABLES = ['orders', 'request_records', 'users'];

type CliResult = Readonly<{ code: number; stdout: string; stderr: string }>;

/** Runs the CLI as its own process, seeing only the environment given here. */
function migrate(args: readonly string[], databaseUrl: string, cwd = ROOT): Promise<CliResult> {
  const env = { NODE_ENV: 'test', DATABASE_URL: databaseUrl };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

async function migrateOk(args: readonly string[], databaseUrl: string, cwd = ROOT): Promise<string[]> {
  const result = await migrate(args, databaseUrl, cwd);
  assert.equal(result.code, 0, `migrate ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

function statusLines(state: 'executed' | 'pending', names: readonly string[]): string[] {
  return names.map((name) => `${state.padEnd(8)} ${name}`);
}

async function withDatabase<T>(url: string, work: (sequelize: Sequelize) => Promise<T>): Promise<T> {
  const sequelize = await openDatabase({ url, poolMax: 1 });
  try {
    return await work(sequelize);
  } finally {
    await sequelize.close();
  }
}

async function appTables(url: string): Promise<string[]> {
  const tables = await withDatabase(url, (sequelize) => sequelize.getQueryInterface().showAllTables());
  return tables.filter((table) => table !== 'schema_migrations').sort();
}

function assertCoreTables(tables: readonly string[]): void {
  for (const table of CORE_TABLES) assert.ok(tables.includes(table), `table ${table} is missing: ${tables.join()}`);
}

async function foreignKeys(url: string): Promise<unknown[]> {
  return withDatabase(url, async (sequelize) => {
    const select = <Row extends object>(sql: string): Promise<Row[]> =>
      sequelize.query<Row>(sql, { type: QueryTypes.SELECT });
    if (sequelize.getDialect() === 'postgres') {
      return select(`SELECT constraint_name FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'
                     UNION ALL SELECT conname FROM pg_constraint WHERE contype = 'f'`);
    }
    const tables = await select<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`);
    const lists = await Promise.all(tables.map(({ name }) => select(`PRAGMA foreign_key_list("${name}")`)));
    return lists.flat();
  });
}

for (const dialect of DIALECTS) {
  describe(`migrate CLI on ${dialect}`, () => {
    let database: TestDatabase;
    beforeEach(async () => {
      database = await createTestDatabase(dialect);
    });
    afterEach(async () => {
      await database.drop();
    });

    it('lists every migration as pending on a fresh database', async () => {
      assert.deepEqual(await migrateOk(['status'], database.url), statusLines('pending', MIGRATIONS));
    });

    it('applies every pending migration with up, and status then lists them as executed', async () => {
      assert.deepEqual(
        await migrateOk(['up'], database.url),
        MIGRATIONS.map((name) => `applied ${name}`),
      );
      assert.deepEqual(await migrateOk(['status'], database.url), statusLines('executed', MIGRATIONS));
      assertCoreTables(await appTables(database.url));
    });

    it('reverts only the last migration with down', async () => {
      await migrateOk(['up'], database.url);
      assert.deepEqual(await migrateOk(['down'], database.url), [`reverted ${LAST}`]);
      assert.deepEqual(await migrateOk(['status'], database.url), [
        ...statusLines('executed', MIGRATIONS.slice(0, -1)),
        ...statusLines('pending', [LAST]),
      ]);
    });

    it('reverts everything with down --to the first migration, and up brings the tables back', async () => {
      await migrateOk(['up'], database.url);
      const tables = await appTables(database.url);
      assert.deepEqual(
        await migrateOk(['down', '--to', FIRST], database.url),
        [...MIGRATIONS].reverse().map((name) => `reverted ${name}`),
      );
      assert.deepEqual(await migrateOk(['status'], database.url), statusLines('pending', MIGRATIONS));
      assert.deepEqual(await appTables(database.url), []);

      await migrateOk(['up'], database.url);
      assert.deepEqual(await appTables(database.url), tables);
    });

    it('fails with exit code 1 and one readable line when down --to names no migration', async () => {
      const result = await migrate(['down', '--to', '0009-missing'], database.url);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^migrate down failed: .*"0009-missing"\n$/);
    });

    it('leaves no foreign key anywhere after up', async () => {
      await migrateOk(['up'], database.url);
      assertCoreTables(await appTables(database.url));
      assert.deepEqual(await foreignKeys(database.url), []);
    });
  });
}

describe('migrate CLI arguments', () => {
  // Bad arguments are refused before any connection: this database is never created.
  const NEVER_OPENED = `sqlite:${path.join(os.tmpdir(), `tandem_test_never_${process.pid}.sqlite`)}`;
  const BAD_ARGUMENTS = [[], ['sideways'], ['up', 'now'], ['status', '--to', 'x'], ['down', '--to'], ['up', '--fast']];

  for (const args of BAD_ARGUMENTS) {
    it(`exits 2 with the usage on "${args.join(' ')}"`, async () => {
      const result = await migrate(args, NEVER_OPENED);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /usage: npm run migrate -- <command>/);
      assert.equal(fs.existsSync(NEVER_OPENED.slice('sqlite:'.length)), false);
    });
  }
});

describe('migrate create', () => {
  let copy: string;
  let database: TestDatabase;
  // create writes into ./migrations: it runs in a throwaway copy so the real folder never changes.
  beforeEach(async () => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-test-migrate-'));
    for (const entry of ['package.json', 'tsconfig.json', 'config', 'services', 'migrations']) {
      fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    database = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    fs.rmSync(copy, { recursive: true, force: true });
    await database.drop();
  });

  it('writes the next numbered file, which up then applies', async () => {
    const name = `${String(Number(LAST.slice(0, 4)) + 1).padStart(4, '0')}-add-widgets`;
    assert.deepEqual(await migrateOk(['create', 'add-widgets'], database.url, copy), [`created migrations/${name}.ts`]);
    const written = fs.readFileSync(path.join(copy, `migrations/${name}.ts`), 'utf8');
    assert.match(written, /export const up: Migration/);
    assert.match(written, /export const down: Migration/);
    assert.deepEqual((await migrateOk(['up'], database.url, copy)).at(-1), `applied ${name}`);
  });

  it('refuses a name that is not kebab-case with exit code 2 and writes nothing', async () => {
    const before = fs.readdirSync(path.join(copy, 'migrations'));
    const result = await migrate(['create', 'Add_Widgets'], database.url, copy);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /kebab-case/);
    assert.deepEqual(fs.readdirSync(path.join(copy, 'migrations')), before);
  });

  it('numbers one past the highest number in use, gaps and all', () => {
    assert.equal(nextMigrationFile([], 'first'), '0001-first.ts');
    assert.equal(nextMigrationFile(['0001-a', '0007-b', '0003-c'], 'next'), '0008-next.ts');
    assert.throws(() => nextMigrationFile(['9999-last'], 'more'), /no migration number left/);
  });
});
