/**
 * Child processes of the bench: every one is spawned here, tracked, and killed at the end, on failure
 * and on Ctrl-C. Also reads what /proc says about them (memory, CPU time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { isObject, type Reply, type Request } from './protocol';

export const ROOT = path.resolve(__dirname, '..');
export const DIST = path.join(ROOT, 'dist');
/** The compiled parent guard, preloaded into the Tandem services (see bench/parent-guard.ts). */
const PARENT_GUARD = path.join(DIST, 'bench', 'parent-guard.js');
/**
 * Every child runs as it is deployed. In development the `redis` client bundled with bee-queue records a
 * stack trace for every command, which costs bare bee-queue about a third of its speed.
 */
export const CHILD_NODE_ENV = 'production';

/** Linux's USER_HZ: the unit of CPU times in /proc/<pid>/stat and /proc/stat. */
const CLOCK_TICKS_PER_SECOND = 100;
const TAIL_BYTES = 4000;

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The last few KB of stdout and stderr, for error messages. */
  readonly tail: () => string;
  readonly running: () => boolean;
  /** Resolves with the first IPC message that `matches`, past messages excluded; rejects on exit. */
  waitForMessage<T>(matches: (message: unknown) => message is T, timeoutMs: number): Promise<T>;
  onMessage(listener: (message: unknown) => void): void;
  /** Sends a command and resolves with its answer (see protocol.ts). */
  request<R>(command: unknown, timeoutMs: number): Promise<R>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child & { readonly process: ChildProcess }>();
/** A warning the services logged: how many times, and the error it carried the first time, if any. */
export interface LoggedWarning {
  readonly count: number;
  readonly firstError: string | undefined;
}

/** Warnings and errors the services logged, by "process kind: message". */
const warnings = new Map<string, LoggedWarning>();

function errorOf(entry: Record<string, unknown>): string | undefined {
  const error = entry['err'];
  return isObject(error) && typeof error['message'] === 'string' ? error['message'] : undefined;
}

/** Counts a pino line at warn level or above (the services log nothing below warn in the bench). */
function recordLogLine(name: string, line: string): void {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  if (!isObject(entry) || typeof entry['level'] !== 'number' || entry['level'] < 40) return;
  const task = typeof entry['task'] === 'string' ? ` (task ${entry['task']})` : '';
  const key = `${name.replace(/ \d+$/, '')}: ${String(entry['msg'])}${task}`;
  const known = warnings.get(key);
  warnings.set(key, { count: (known?.count ?? 0) + 1, firstError: known ? known.firstError : errorOf(entry) });
}

/** Every warning the children logged so far. */
export function loggedWarnings(): ReadonlyMap<string, LoggedWarning> {
  return warnings;
}
let nextRequestId = 1;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface SpawnOptions {
  /** The environment, exactly: nothing is inherited from the bench's own. */
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Preload bench/parent-guard.js (for entry points that do not import it themselves). */
  readonly guard?: boolean;
}

/** Starts `node <script> ...args` with an IPC channel, tracked until it exits. */
export function spawnNode(name: string, script: string, options: SpawnOptions = {}): Child {
  const nodeArgs = options.guard ? ['--require', PARENT_GUARD] : [];
  const child = spawn(process.execPath, [...nodeArgs, script, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { NODE_ENV: CHILD_NODE_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { pid } = child;
  if (pid === undefined) throw new Error(`${name} did not start`);
  let tail = '';
  let partial = '';
  const keep = (chunk: string): void => {
    tail = (tail + chunk).slice(-TAIL_BYTES);
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) recordLogLine(name, line);
    keep(chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', keep);
  let exited = false;
  const exit = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(`${name} exited (code ${String(code)}, signal ${String(signal)})`);
    });
  });
  const handle = {
    name,
    pid,
    process: child,
    tail: () => tail,
    running: () => !exited,
    onMessage(listener: (message: unknown) => void) {
      child.on('message', listener);
    },
    waitForMessage<T>(matches: (message: unknown) => message is T, timeoutMs: number): Promise<T> {
      let listener: ((message: unknown) => void) | undefined;
      const found = new Promise<T>((resolve) => {
        listener = (message: unknown) => {
          if (matches(message)) resolve(message);
        };
        child.on('message', listener);
      });
      const died = exit.then((why) => Promise.reject(new Error(`${why}:\n${tail}`)));
      return withTimeout(Promise.race([found, died]), timeoutMs, `a message from ${name}:\n${tail}`).finally(() => {
        if (listener) child.off('message', listener);
      });
    },
    async request<R>(command: unknown, timeoutMs: number): Promise<R> {
      const id = nextRequestId++;
      const answer = handle.waitForMessage(
        (message): message is Reply<R> => isObject(message) && message['id'] === id,
        timeoutMs,
      );
      child.send({ id, command } satisfies Request<unknown>);
      const reply = await answer;
      if (!reply.ok) throw new Error(`${name}: ${reply.error}`);
      return reply.result;
    },
    async stop(graceMs = 5000) {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exit;
        clearTimeout(killer);
      }
      children.delete(handle);
    },
  };
  children.add(handle);
  void exit.then(() => children.delete(handle));
  return handle;
}

export function isReady(message: unknown): message is { type: 'ready'; port?: number } {
  return isObject(message) && message['type'] === 'ready';
}

/** Stops every child still running, gracefully first. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(graceMs)));
}

/** Last resort on process exit: SIGKILL whatever is left, synchronously. */
export function killAllNow(): void {
  for (const child of children) {
    if (child.running()) child.process.kill('SIGKILL');
  }
}

/** A port nobody listens on right now on 127.0.0.1. */
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

function statusField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process now (VmRSS), in bytes; undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** The most resident memory a process ever had (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** CPU time (user + system) a process has used so far, in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU time of the whole machine so far, in seconds summed over every core: busy and total. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal; guest time is already counted in user.
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}
