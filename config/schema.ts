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

convict.addFormat({
  name: 'positive-int',
  validate(value: unknown): void {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error('must be a whole number of 1 or more');
  },
  coerce: (value: string): number => Number(value),
});

function assertAddress(value: unknown): void {
  if (typeof value !== 'string' || !/^[\w.-]+:\d{1,5}$|^dns:\/\/\/[\w.-]+:\d{1,5}$/.test(value)) {
    throw new Error('must be host:port or dns:///host:port');
  }
}

/** A job type declared in config, upserted at start-up; absent settings keep their defaults. */
export interface DeclaredJobTypeConfig {
  name: string;
  queue?: 'critical' | 'default' | 'low';
  maxAttempts?: number;
  backoff?: { kind?: 'fixed' | 'exponential'; baseMs?: number; capMs?: number; jitter?: number };
  timeoutMs?: number;
  retentionMs?: number;
}

const DECLARED_TYPE_KEYS = new Set(['name', 'queue', 'maxAttempts', 'backoff', 'timeoutMs', 'retentionMs']);

convict.addFormat({
  name: 'job-type-list',
  validate(value: unknown): void {
    if (!Array.isArray(value)) throw new Error('must be a JSON array of job types');
    for (const entry of value as unknown[]) {
      if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string') {
        throw new Error('every job type needs a "name"');
      }
      const unknown = Object.keys(entry).filter((key) => !DECLARED_TYPE_KEYS.has(key));
      if (unknown.length > 0) throw new Error(`unknown job type settings: ${unknown.join(', ')}`);
    }
  },
  coerce: (value: string): unknown => JSON.parse(value),
});

export interface Config {
  env: 'development' | 'test' | 'production';
  dataDir: string;
  grpc: {
    host: string;
    port: number;
    shutdownGraceMs: number;
    healthCheckIntervalMs: number;
    requestIdRetentionMs: number;
  };
  database: { url: string; poolMax: number; migrateOnStart: boolean };
  redis: { url: string; keyPrefix: string };
  log: { level: (typeof LOG_LEVELS)[number] };
  auth: { clientTokens: string[]; workerTokens: string[] };
  jobs: {
    maxPayloadBytes: number;
    maxResultBytes: number;
    leaseGraceMs: number;
    typeCacheMs: number;
    welcomeEmail: boolean;
    types: DeclaredJobTypeConfig[];
  };
  dispatch: {
    intervalMs: number;
    batchSize: number;
    redisTimeoutMs: number;
    reconcileIntervalMs: number;
    reconcileAfterMs: number;
    leaseSweepIntervalMs: number;
    retentionSweepIntervalMs: number;
    retentionBatchSize: number;
    watchPollIntervalMs: number;
  };
  worker: {
    dataServiceAddress: string;
    token: string;
    id: string;
    concurrency: number;
    prefetch: number;
    priorityMode: 'weighted' | 'strict';
    weightCritical: number;
    weightDefault: number;
    weightLow: number;
    shutdownGraceMs: number;
    reportTimeoutMs: number;
    stallIntervalMs: number;
    healthPort: number;
  };
  email: { smtpUrl: string; from: string };
  webhook: { timeoutMs: number };
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
      format: 'positive-int',
      default: 5000,
      env: 'HEALTH_CHECK_INTERVAL_MS',
    },
    requestIdRetentionMs: {
      doc: "How long a create's request_id is remembered: a retry within it returns the first result; older ones are deleted with finished jobs.",
      format: 'positive-int',
      default: 86_400_000,
      env: 'REQUEST_ID_RETENTION_MS',
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
      format: 'positive-int',
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
  jobs: {
    maxPayloadBytes: {
      doc: 'Largest job payload accepted by Enqueue, in bytes of JSON.',
      format: 'nat',
      default: 65536,
      env: 'JOBS_MAX_PAYLOAD_BYTES',
    },
    maxResultBytes: {
      doc: 'Largest job result accepted from a worker, in bytes of JSON.',
      format: 'nat',
      default: 65536,
      env: 'JOBS_MAX_RESULT_BYTES',
    },
    leaseGraceMs: {
      doc: "Added to a job type's timeout: how long a silent worker keeps its attempt before it is failed and retried.",
      format: 'nat',
      default: 10000,
      env: 'JOBS_LEASE_GRACE_MS',
    },
    typeCacheMs: {
      doc: "How long a job type read for Enqueue and worker starts is reused; another replica's change applies within it (0: never).",
      format: 'nat',
      default: 1000,
      env: 'JOBS_TYPE_CACHE_MS',
    },
    welcomeEmail: {
      doc: 'CreateUser enqueues an email.send welcome job in the same transaction.',
      format: Boolean,
      default: true,
      env: 'JOBS_WELCOME_EMAIL',
    },
    types: {
      doc: 'Job types upserted at start-up, as a JSON array of {name, queue, maxAttempts, backoff: {kind, baseMs, capMs, jitter}, timeoutMs, retentionMs}.',
      format: 'job-type-list',
      default: [
        { name: 'email.send', queue: 'default', maxAttempts: 5, timeoutMs: 30000 },
        { name: 'webhook.deliver', queue: 'default', maxAttempts: 8, backoff: { baseMs: 2000 }, timeoutMs: 30000 },
        { name: 'users.export', queue: 'low', maxAttempts: 3, timeoutMs: 600000 },
      ],
      env: 'JOB_TYPES',
    },
  },
  dispatch: {
    intervalMs: {
      doc: 'How often the dispatcher looks for due jobs when no enqueue woke it.',
      format: 'positive-int',
      default: 200,
      env: 'DISPATCH_INTERVAL_MS',
    },
    batchSize: {
      doc: 'Most jobs dispatched, reconciled or swept in one round.',
      format: 'positive-int',
      default: 200,
      env: 'DISPATCH_BATCH_SIZE',
    },
    redisTimeoutMs: {
      doc: 'How long one dispatch waits for Redis before the round fails and the jobs wait for the next.',
      format: 'positive-int',
      default: 2000,
      env: 'DISPATCH_REDIS_TIMEOUT_MS',
    },
    reconcileIntervalMs: {
      doc: 'How often queued jobs are checked against Redis and re-published if Redis lost them.',
      format: 'positive-int',
      default: 5000,
      env: 'DISPATCH_RECONCILE_INTERVAL_MS',
    },
    reconcileAfterMs: {
      doc: 'A queued job is checked against Redis only once it has been queued (or last checked) this long.',
      format: 'nat',
      default: 10000,
      env: 'DISPATCH_RECONCILE_AFTER_MS',
    },
    leaseSweepIntervalMs: {
      doc: 'How often running attempts whose lease lapsed are failed.',
      format: 'positive-int',
      default: 1000,
      env: 'DISPATCH_LEASE_SWEEP_INTERVAL_MS',
    },
    retentionSweepIntervalMs: {
      doc: 'How often finished jobs past their retention are deleted.',
      format: 'positive-int',
      default: 60000,
      env: 'DISPATCH_RETENTION_SWEEP_INTERVAL_MS',
    },
    retentionBatchSize: {
      doc: 'Most jobs the retention sweeper deletes in one statement.',
      format: 'positive-int',
      default: 100,
      env: 'DISPATCH_RETENTION_BATCH_SIZE',
    },
    watchPollIntervalMs: {
      doc: "How often WatchJob reads a job's new events when no local change woke it (changes made by other replicas).",
      format: 'positive-int',
      default: 500,
      env: 'WATCH_POLL_INTERVAL_MS',
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
    id: {
      doc: 'The worker id recorded in job events; host name and process id when empty.',
      format: String,
      default: '',
      env: 'WORKER_ID',
    },
    concurrency: {
      doc: 'Most jobs one worker process runs at once, shared between the three queues.',
      format: 'positive-int',
      default: 10,
      env: 'WORKER_CONCURRENCY',
    },
    prefetch: {
      doc: 'Jobs each queue fetches beyond the concurrency to wait for a slot: more hides Redis round trips between short jobs, 1 suits long jobs.',
      format: 'positive-int',
      default: 10,
      env: 'WORKER_PREFETCH',
    },
    priorityMode: {
      doc: 'weighted: free slots go to the queues in proportion to their weights; strict: always the highest queue first.',
      format: ['weighted', 'strict'],
      default: 'weighted',
      env: 'WORKER_PRIORITY_MODE',
    },
    weightCritical: {
      doc: 'Weight of the critical queue in weighted mode; 1 or more, so that no waiting queue starves.',
      format: 'positive-int',
      default: 6,
      env: 'WORKER_WEIGHT_CRITICAL',
    },
    weightDefault: {
      doc: 'Weight of the default queue in weighted mode; 1 or more, so that no waiting queue starves.',
      format: 'positive-int',
      default: 3,
      env: 'WORKER_WEIGHT_DEFAULT',
    },
    weightLow: {
      doc: 'Weight of the low queue in weighted mode; 1 or more, so that no waiting queue starves.',
      format: 'positive-int',
      default: 1,
      env: 'WORKER_WEIGHT_LOW',
    },
    shutdownGraceMs: {
      doc: 'On SIGTERM, how long running jobs may finish before they are aborted and released to other workers.',
      format: 'nat',
      default: 10000,
      env: 'WORKER_SHUTDOWN_GRACE_MS',
    },
    reportTimeoutMs: {
      doc: 'Deadline of each call to the data service; failed reports are retried with backoff.',
      format: 'positive-int',
      default: 5000,
      env: 'WORKER_REPORT_TIMEOUT_MS',
    },
    stallIntervalMs: {
      doc: 'How often bee-queue checks for jobs whose worker died, to hand them out again.',
      format: 'positive-int',
      default: 5000,
      env: 'WORKER_STALL_INTERVAL_MS',
    },
    healthPort: {
      doc: 'Port of the worker health endpoint (GET /healthz) on 127.0.0.1; 0 picks a free one.',
      format: 'port',
      default: 8081,
      env: 'WORKER_HEALTH_PORT',
    },
  },
  email: {
    smtpUrl: {
      doc: 'SMTP server for email.send (smtp://user:password@host:587); empty writes each message as an .eml file under <dataDir>/mail.',
      format: String,
      default: '',
      env: 'SMTP_URL',
      sensitive: true,
    },
    from: {
      doc: 'Sender of the e-mails Tandem sends.',
      format: String,
      default: 'Tandem <no-reply@tandem.invalid>',
      env: 'EMAIL_FROM',
    },
  },
  webhook: {
    timeoutMs: {
      doc: 'How long webhook.deliver waits for an answer before the attempt fails and is retried.',
      format: 'positive-int',
      default: 10000,
      env: 'WEBHOOK_TIMEOUT_MS',
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
