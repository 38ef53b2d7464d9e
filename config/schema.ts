import convict from 'convict';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function assertDatabaseUrl(value: unknown): void {
  if (typeof value !== 'string' || !/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(value)) {
    throw new Error('must be sqlite:<file> or postgres://user@host:port/database');
  }
}

function assertRedisUrl(value: unknown): void {
  if (typeof value !== 'string' || !/^rediss?:\/\/[^/]+(\/\d+)?$/.test(value)) {
    throw new Error('must be redis://host:port or redis://host:port/<db number>');
  }
}

convict.addFormat({
  name: 'token-list',
  validate(value: unknown): void {
    if (!Array.isArray(value) || value.some((token) => typeof token !== 'string' || token.length < 16)) {
      throw new Error('must be a comma-separated list of tokens of at least 16 characters');
    }
  },
  coerce: (value: string): string[] => value.split(',').filter((token) => token !== ''),
});

function assertAddress(value: unknown): void {
  if (typeof value !== 'string' || !/^[\w.-]+:\d{1,5}$|^dns:\/\/\/[\w.-]+:\d{1,5}$/.test(value)) {
    throw new Error('must be host:port or dns:///host:port');
  }
}

export interface Config {
  env: 'development' | 'test' | 'production';
  dataDir: string;
  grpc: { host: string; port: number; shutdownGraceMs: number; healthCheckIntervalMs: number };
  database: { url: string; poolMax: number; migrateOnStart: boolean };
  redis: { url: string; keyPrefix: string };
  log: { level: (typeof LOG_LEVELS)[number] };
  auth: { clientTokens: string[]; workerTokens: string[] };
  worker: { dataServiceAddress: string; token: string };
  testing: { postgresAdminUrl: string };
}

/** Every setting of both services. Each key can be set by its environment variable. */
export const CONFIG_SCHEMA: convict.Schema<Config> = {
  env: {
    doc: 'The environment; selects config/<env>.json.',
    format: ['development', 'test', 'production'],
    default: 'development',
    env: 'NODE_ENV',
  },
  dataDir: {
    doc: 'Folder for local files: the embedded SQLite database by default, exported files, e-mails.',
    format: String,
    default: 'data',
    env: 'DATA_DIR',
  },
  grpc: {
    host: {
      doc: 'Interface the data service listens on.',
      format: String,
      default: '127.0.0.1',
      env: 'GRPC_HOST',
    },
    port: {
      doc: 'Port the data service listens on (0 picks a free one).',
      format: 'port',
      default: 50051,
      env: 'GRPC_PORT',
    },
    shutdownGraceMs: {
      doc: 'How long a stopping service waits for in-flight calls before it cancels them.',
      format: 'nat',
      default: 10000,
      env: 'SHUTDOWN_GRACE_MS',
    },
    healthCheckIntervalMs: {
      doc: 'How often the data service checks its database to answer grpc.health.v1.Health.',
      format: 'nat',
      default: 5000,
      env: 'HEALTH_CHECK_INTERVAL_MS',
    },
  },
  database: {
    url: {
      doc: 'Database to use: sqlite:<file> (embedded default) or postgres://user:password@host:port/db.',
      format: assertDatabaseUrl,
      default: 'sqlite:data/tandem.sqlite',
      env: 'DATABASE_URL',
      sensitive: true,
    },
    poolMax: {
      doc: 'Most connections the data service keeps open to PostgreSQL.',
      format: 'nat',
      default: 10,
      env: 'DATABASE_POOL_MAX',
    },
    migrateOnStart: {
      doc: 'Run pending migrations when the data service starts.',
      format: Boolean,
      default: true,
      env: 'DATABASE_MIGRATE_ON_START',
    },
  },
  redis: {
    url: {
      doc: 'Redis used to dispatch jobs: redis://host:port/db.',
      format: assertRedisUrl,
      default: 'redis://127.0.0.1:6379/0',
      env: 'REDIS_URL',
      sensitive: true,
    },
    keyPrefix: {
      doc: 'Prefix of every Redis key Tandem writes, so that several deployments can share one Redis.',
      format: String,
      default: 'tandem',
      env: 'REDIS_KEY_PREFIX',
    },
  },
  log: {
    level: {
      doc: 'Lowest level of log lines written.',
      format: [...LOG_LEVELS],
      default: 'info',
      env: 'LOG_LEVEL',
    },
  },
  auth: {
    clientTokens: {
      doc: 'Bearer tokens accepted from clients, comma-separated. Empty, with no worker tokens either, turns auth off.',
      format: 'token-list',
      default: [],
      env: 'AUTH_CLIENT_TOKENS',
      sensitive: true,
    },
    workerTokens: {
      doc: 'Bearer tokens accepted from workers, comma-separated; only they may call WorkerService.',
      format: 'token-list',
      default: [],
      env: 'AUTH_WORKER_TOKENS',
      sensitive: true,
    },
  },
  worker: {
    dataServiceAddress: {
      doc: 'Address of the data service the worker reports to: host:port or dns:///host:port.',
      format: assertAddress,
      default: '127.0.0.1:50051',
      env: 'DATA_SERVICE_ADDRESS',
    },
    token: {
      doc: 'Bearer token the worker sends to the data service (one of auth.workerTokens).',
      format: String,
      default: '',
      env: 'WORKER_TOKEN',
      sensitive: true,
    },
  },
  testing: {
    postgresAdminUrl: {
      doc: 'PostgreSQL server the test suite creates its own throwaway databases on (never used by the services).',
      format: assertDatabaseUrl,
      default: 'postgres://postgres@127.0.0.1:5432/postgres',
      env: 'TEST_POSTGRES_ADMIN_URL',
      sensitive: true,
    },
  },
};
