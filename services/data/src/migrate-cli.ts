import { parseArgs } from 'node:util';
import type { QueryInterface, Sequelize } from 'sequelize';
import type { Umzug } from 'umzug';
import { loadConfig } from '../../../config';
import { createLogger } from '../../shared/logger';
import { openDatabase } from './store/database';
import { createMigrator } from './store/migrator';

export const USAGE = `usage: npm run migrate -- <command>
  up                apply every pending migration
  down              revert the last executed migration
  down --to NAME    revert every migration down to and including NAME (--to 0 reverts all)
  status            list each migration as executed or pending
  create NAME       write migrations/NNNN-NAME.ts with the next number (NAME in kebab-case)`;

export type Command =
  | { readonly kind: 'up' | 'status' }
  | { readonly kind: 'down'; readonly to: string | undefined }
  | { readonly kind: 'create'; readonly name: string };

/** Bad arguments: the process prints the usage and exits 2, without touching the database. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Migrator = Umzug<QueryInterface>;

const KEBAB_CASE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const NUMBER_PREFIX = /^(\d{4})-/;
const LAST_NUMBER = 9999;
// A compiled run lists dist/migrations, where a new source file only appears after the next build.
const RUNS_FROM_SOURCE = __filename.endsWith('.ts');

function parseArguments(argv: readonly string[]): { positionals: string[]; to: string | undefined; help: boolean } {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    return { positionals, to: values.to, help: values.help === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Turns the command line into a command, or throws UsageError saying what is wrong with it. */
export function parseCommand(argv: readonly string[]): Command | 'help' {
  const { positionals, to, help } = parseArguments(argv);
  const [kind, ...rest] = positionals;
  if (help || kind === 'help') return 'help';
  if (kind === undefined) throw new UsageError('missing command');
  if (to !== undefined && kind !== 'down') throw new UsageError(`--to is only for down, not ${kind}`);
  if (kind === 'create') {
    const [name] = rest;
    if (name === undefined || rest.length > 1) throw new UsageError('create takes exactly one NAME');
    if (!KEBAB_CASE.test(name)) throw new UsageError(`NAME must be kebab-case, like add-user-index: "${name}"`);
    return { kind, name };
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest.join(' ')}"`);
  if (kind === 'up' || kind === 'status') return { kind };
  if (kind === 'down') return { kind, to };
  throw new UsageError(`unknown command "${kind}"`);
}

/** The file name for migration `name`, numbered one past the highest number already used. */
export function nextMigrationFile(existingNames: readonly string[], name: string): string {
  const used = existingNames.map((existing) => Number(NUMBER_PREFIX.exec(existing)?.[1] ?? 0));
  const next = Math.max(0, ...used) + 1;
  if (next > LAST_NUMBER) throw new Error(`no migration number left after ${LAST_NUMBER}`);
  return `${String(next).padStart(4, '0')}-${name}.ts`;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function migrateUp(migrator: Migrator): Promise<void> {
  migrator.on('migrated', ({ name }) => print(`applied ${name}`));
  const applied = await migrator.up();
  if (applied.length === 0) print('no pending migrations');
}

async function migrateDown(migrator: Migrator, to: string | undefined): Promise<void> {
  migrator.on('reverted', ({ name }) => print(`reverted ${name}`));
  // Umzug reads `to: 0` as "all of them"; any other value is a migration name.
  const reverted = await migrator.down(to === undefined ? {} : { to: to === '0' ? 0 : to });
  if (reverted.length === 0) print('no executed migrations to revert');
}

async function showStatus(migrator: Migrator): Promise<void> {
  for (const { name } of await migrator.executed()) print(`executed ${name}`);
  for (const { name } of await migrator.pending()) print(`pending  ${name}`);
}

async function createMigration(migrator: Migrator, name: string): Promise<void> {
  // Executed names count too, so that a number stays taken even after its file is gone.
  const known = [...(await migrator.executed()), ...(await migrator.pending())].map((migration) => migration.name);
  const file = nextMigrationFile(known, name);
  await migrator.create({ name: file, prefix: 'NONE', skipVerify: !RUNS_FROM_SOURCE });
  print(`created migrations/${file}`);
}

function runCommand(command: Command, migrator: Migrator): Promise<void> {
  if (command.kind === 'down') return migrateDown(migrator, command.to);
  if (command.kind === 'create') return createMigration(migrator, command.name);
  return command.kind === 'up' ? migrateUp(migrator) : showStatus(migrator);
}

/** Runs one command against the configured database and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let command: Command | 'help';
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`migrate: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (command === 'help') {
    print(USAGE);
    return 0;
  }
  const config = loadConfig();
  const log = createLogger('tandem-migrate', config.log.level);
  let sequelize: Sequelize | undefined;
  try {
    sequelize = await openDatabase({ url: config.database.url, poolMax: config.database.poolMax });
    await runCommand(command, createMigrator(sequelize));
    return 0;
  } catch (error) {
    // The stack helps only whoever debugs the migrator; everyone else gets one readable line.
    log.debug({ err: error }, `migrate ${command.kind} failed`);
    process.stderr.write(`migrate ${command.kind} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await sequelize?.close();
  }
}

if (require.main === module) {
  // The exit code is set rather than forced, so that a handle left open shows up as a hang.
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`migrate: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
