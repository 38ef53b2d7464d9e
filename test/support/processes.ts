import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DeclaredJobTypeConfig } from '../../config/schema';
import {
  freePort,
  parseLogLine,
  startEntryProcess,
  startServiceProcess,
  type LogEntry,
  type ServiceProcess,
} from './service-process';

const READY_TIMEOUT_MS = 20_000;
const CHAOS_WORKER_ENTRY = path.join(__dirname, 'chaos-worker-main.ts');

/** Waits for `condition` to hold, checking every `everyMs`; errors thrown by `condition` count as false. */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A redis-server of the test's own on a free port, without persistence: it can be killed and come back empty. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Starts the server (empty) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills the server (SIGKILL) and resolves once it has exited; nothing it held survives. */
  stop(): Promise<void>;
  /** Stops the server for good: a later `start` fails instead of leaking a process. */
  close(): Promise<void>;
}

export async function createOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let server: { child: ChildProcess; exited: Promise<void> } | undefined;
  let closed = false;

  async function start(): Promise<void> {
    if (closed) throw new Error('this redis-server was closed');
    if (server) throw new Error('this redis-server is running already');
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    server = { child, exited };
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`redis-server did not start on port ${port}:\n${output}`));
      }, READY_TIMEOUT_MS);
      const look = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited on port ${port}:\n${output}`));
      });
    });
  }

  async function stop(): Promise<void> {
    const running = server;
    server = undefined;
    if (!running) return;
    running.child.kill('SIGKILL');
    await running.exited;
  }

  async function close(): Promise<void> {
    closed = true;
    await stop();
  }

  return { port, url: `redis://127.0.0.1:${port}/0`, start, stop, close };
}

/** Every child a test starts, so that `after` can kill whatever is left, even when the test failed. */
export interface ProcessPool {
  /** Tracks a process; once the pool is closed, kills it at once and throws. */
  add(process: ServiceProcess): ServiceProcess;
  /** Every stdout line of every process started so far (the exited ones too). */
  allLines(): string[];
  /** SIGKILLs every process still running and waits for the exits. */
  killAll(): Promise<void>;
  /** Like `killAll`, and any process added later (by a test step still in flight) is killed too. */
  close(): Promise<void>;
}

export function createProcessPool(): ProcessPool {
  const processes: ServiceProcess[] = [];
  let closed = false;
  const killAll = async (): Promise<void> => {
    await Promise.all(processes.map((process) => process.stop('SIGKILL').catch(() => undefined)));
  };
  return {
    add: (process) => {
      if (closed) {
        void process.stop('SIGKILL').catch(() => undefined);
        throw new Error('the process pool is closed: the test is over');
      }
      processes.push(process);
      return process;
    },
    allLines: () => processes.flatMap((process) => [...process.lines]),
    killAll,
    close: async () => {
      closed = true;
      await killAll();
    },
  };
}

/** The parsed log entries among `lines` that match. */
export function logEntries(lines: readonly string[], matches: (entry: LogEntry) => boolean): LogEntry[] {
  return lines.map(parseLogLine).filter((entry): entry is LogEntry => entry !== undefined && matches(entry));
}

/** A Redis key prefix nobody else uses. */
export function uniquePrefix(name: string): string {
  return `tandem-test-${name}-${randomBytes(4).toString('hex')}`;
}

export interface DataProcessSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly port: number;
  readonly jobTypes: readonly DeclaredJobTypeConfig[];
  /** Any further environment variables (DISPATCH_*, JOBS_LEASE_GRACE_MS, ...). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts the real data service (`services/data/src/main.ts`) and resolves once it listens. */
export async function startDataProcess(settings: DataProcessSettings): Promise<ServiceProcess> {
  const service = startServiceProcess('data', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: settings.redisPrefix,
    GRPC_PORT: String(settings.port),
    JOB_TYPES: JSON.stringify(settings.jobTypes),
    ...settings.env,
  });
  try {
    await service.waitForLog((entry) => entry['msg'] === 'data service listening', READY_TIMEOUT_MS);
  } catch (error) {
    await service.stop('SIGKILL');
    throw error;
  }
  return service;
}

export interface WorkerProcessSettings {
  readonly dataServiceAddress: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly workerId: string;
  readonly concurrency: number;
  /** Any further environment variables (WORKER_SHUTDOWN_GRACE_MS, WORKER_STALL_INTERVAL_MS, ...). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts a worker process whose only handler is `chaos.sleep` (see chaos-worker-main.ts). It is not
 * ready yet: wait for its 'worker started' line when that matters.
 */
export function startSleepWorker(settings: WorkerProcessSettings): ServiceProcess {
  return startEntryProcess(CHAOS_WORKER_ENTRY, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATA_SERVICE_ADDRESS: settings.dataServiceAddress,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: settings.redisPrefix,
    WORKER_ID: settings.workerId,
    WORKER_CONCURRENCY: String(settings.concurrency),
    WORKER_HEALTH_PORT: '0',
    ...settings.env,
  });
}

export function workerStarted(worker: ServiceProcess): Promise<LogEntry> {
  return worker.waitForLog((entry) => entry['msg'] === 'worker started', READY_TIMEOUT_MS);
}
