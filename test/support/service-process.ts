import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createTestRedisPrefix } from './test-redis';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY_POINTS = {
  data: path.join(ROOT, 'services/data/src/main.ts'),
  worker: path.join(ROOT, 'services/worker/src/main.ts'),
} as const;

export type ServiceName = keyof typeof ENTRY_POINTS;
export type LogEntry = Readonly<Record<string, unknown>>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A service running as a real child process, as it runs in production. */
export interface ServiceProcess {
  /** Every stdout line so far, as written. */
  readonly lines: readonly string[];
  /** Every stderr output so far. */
  stderr(): string;
  /** Resolves with the first log entry (past or future) that `matches`; rejects after `timeoutMs`. */
  waitForLog(matches: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Resolves with the exit; kills the process and rejects when it has not exited within `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
  /** Sends `signal` (unless it has exited already), then waits for the exit like `waitForExit`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  /** Sends `signal` (unless it has exited already) and returns at once: SIGSTOP and SIGCONT freeze and thaw it. */
  signal(signal: NodeJS.Signals): void;
}

/** Parses a pino line; undefined for anything that is not one JSON object. */
export function parseLogLine(line: string): LogEntry | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)), timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Runs `node --import tsx services/<name>/src/main.ts` with exactly `env` (nothing inherited, so the
 * developer's own settings cannot leak into a test).
 */
export function startServiceProcess(name: ServiceName, env: Readonly<Record<string, string>>): ServiceProcess {
  return startEntryProcess(ENTRY_POINTS[name], env);
}

/** Like `startServiceProcess`, for any TypeScript entry file (a test-only main with its own handlers). */
export function startEntryProcess(entry: string, env: Readonly<Record<string, string>>): ServiceProcess {
  // A process given no Redis key prefix gets one of its own, wiped when it exits: a test never writes
  // under the default prefix of a developer's Redis.
  const redisPrefix = env['REDIS_KEY_PREFIX'] === undefined ? createTestRedisPrefix() : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: redisPrefix ? { ...env, REDIS_KEY_PREFIX: redisPrefix.prefix } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })),
  ).then(async (result) => {
    await redisPrefix?.drop();
    return result;
  });
  let exit: Exit | undefined;
  void exited.then((result) => {
    exit = result;
    for (const listener of listeners) listener();
  });

  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  function send(signal: NodeJS.Signals): void {
    if (!exit) child.kill(signal);
  }

  async function waitForExit(timeoutMs = 10_000): Promise<Exit> {
    try {
      return await withTimeout(exited, timeoutMs, () => 'the process to exit');
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    }
  }

  return {
    lines,
    stderr: () => stderr,
    waitForLog(matches, timeoutMs = 10_000) {
      const found = new Promise<LogEntry>((resolve, reject) => {
        const look = (): void => {
          const entry = lines.map(parseLogLine).find((candidate) => candidate !== undefined && matches(candidate));
          if (entry) resolve(entry);
          else if (exit)
            reject(new Error(`the process exited (${JSON.stringify(exit)}):\n${lines.join('\n')}\n${stderr}`));
          else return;
          listeners.delete(look);
        };
        listeners.add(look);
        look();
      });
      return withTimeout(found, timeoutMs, () => `a log line; got:\n${lines.join('\n')}\nstderr: ${stderr}`);
    },
    waitForExit,
    stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      send(signal);
      return waitForExit(timeoutMs);
    },
    signal: send,
  };
}

/** Runs a service that is expected to exit on its own (a start-up failure) and collects its output. */
export async function runServiceToExit(
  name: ServiceName,
  env: Readonly<Record<string, string>>,
  timeoutMs = 10_000,
): Promise<Exit & { stdout: string; stderr: string }> {
  const service = startServiceProcess(name, env);
  const exited = await service.waitForExit(timeoutMs);
  return { ...exited, stdout: service.lines.join('\n'), stderr: service.stderr() };
}

/** A port nobody listens on right now: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
