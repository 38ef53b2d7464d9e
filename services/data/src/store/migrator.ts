import path from 'node:path';
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug, type MigrationFn } from 'umzug';

export type Migration = MigrationFn<QueryInterface>;

/** Compiled migrations sit in dist/migrations, sources in migrations/: both are two levels up from the store. */
const MIGRATIONS_DIR = path.resolve(__dirname, '../../../../migrations');
const MIGRATION_FILE = /^(\d{4}-[a-z0-9-]+)\.(js|ts)$/;

const TEMPLATE = `import type { Migration } from '../services/data/src/store/migrator';

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query('SELECT 1');
};

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query('SELECT 1');
};
`;

interface MigrationModule {
  readonly up: Migration;
  readonly down: Migration;
}

/** Umzug over the numbered files in migrations/, recording what ran in the `schema_migrations` table. */
export function createMigrator(sequelize: Sequelize): Umzug<QueryInterface> {
  return new Umzug<QueryInterface>({
    migrations: {
      glob: ['[0-9][0-9][0-9][0-9]-*.{js,ts}', { cwd: MIGRATIONS_DIR, ignore: ['*.d.ts'] }],
      // Names leave out the extension, so that compiled and source runs agree on what has run.
      resolve: ({ name, path: file }) => {
        const match = MIGRATION_FILE.exec(name);
        if (!match?.[1] || !file) throw new Error(`migration file ${name} is not named NNNN-some-name.ts`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- migrations are loaded by path at run time
        const migration = require(file) as MigrationModule;
        return { name: match[1], up: migration.up, down: migration.down };
      },
    },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
    create: { folder: path.resolve('migrations'), template: (file) => [[file, TEMPLATE]] },
  });
}

export async function runMigrations(sequelize: Sequelize): Promise<void> {
  await createMigrator(sequelize).up();
}
