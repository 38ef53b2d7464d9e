/**
 * Part 1: GetUser, ListUsers (a page of 20) and CreateOrder at 1, 16 and 64 calls in flight, on Tandem
 * and on the bare server, driven by the same load generator, one right after the other.
 */
import path from 'node:path';
import type { CrudMethod, CrudResult } from './protocol';
import { cpuSeconds, DIST, isReady, spawnNode, type Child } from './processes';

export const CRUD_METHODS: readonly CrudMethod[] = ['GetUser', 'ListUsers', 'CreateOrder'];
export const IN_FLIGHT: readonly number[] = [1, 16, 64];

export interface CrudFigures extends CrudResult {
  /** Cores the server process used during the run (CPU seconds per second). */
  readonly serverCores: number;
  /** Cores the load generator used. */
  readonly clientCores: number;
}

export interface CrudRow {
  readonly dialect: string;
  readonly method: CrudMethod;
  readonly inFlight: number;
  readonly tandem: CrudFigures;
  readonly bare: CrudFigures;
  /** Tandem's calls per second over the bare server's. */
  readonly ratio: number;
}

export interface CrudOptions {
  readonly dialect: string;
  readonly loadGenerator: Child;
  readonly tandem: { readonly address: string; readonly pid: number };
  readonly bare: { readonly address: string; readonly pid: number };
  readonly userIds: readonly string[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly log: (line: string) => void;
}

/** Starts the bare server on the database Tandem seeded. */
export async function startBareServer(databaseUrl: string): Promise<{ child: Child; address: string }> {
  const child = spawnNode('bare server', path.join(DIST, 'bench/bare-server.js'), { args: [databaseUrl] });
  const ready = await child.waitForMessage(isReady, 30_000);
  if (ready.port === undefined) throw new Error('the bare server did not say its port');
  return { child, address: `127.0.0.1:${ready.port}` };
}

async function measure(
  options: CrudOptions,
  target: { readonly address: string; readonly pid: number },
  method: CrudMethod,
  inFlight: number,
): Promise<CrudFigures> {
  const { loadGenerator } = options;
  const server = cpuSeconds(target.pid);
  const client = cpuSeconds(loadGenerator.pid);
  const started = Date.now();
  const result = await loadGenerator.request<CrudResult>(
    {
      kind: 'crud',
      address: target.address,
      method,
      inFlight,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      userIds: options.userIds,
    },
    options.warmupMs + options.durationMs + 60_000,
  );
  const seconds = (Date.now() - started) / 1000;
  return {
    ...result,
    serverCores: (cpuSeconds(target.pid) - server) / seconds,
    clientCores: (cpuSeconds(loadGenerator.pid) - client) / seconds,
  };
}

/**
 * Runs every (method, in-flight) point on both servers. Which server goes first alternates from one
 * point to the next, so that a burst of outside load does not always land on the same one.
 */
export async function runCrud(options: CrudOptions): Promise<CrudRow[]> {
  const rows: CrudRow[] = [];
  let tandemFirst = true;
  for (const method of CRUD_METHODS) {
    for (const inFlight of IN_FLIGHT) {
      let tandem: CrudFigures;
      let bare: CrudFigures;
      if (tandemFirst) {
        tandem = await measure(options, options.tandem, method, inFlight);
        bare = await measure(options, options.bare, method, inFlight);
      } else {
        bare = await measure(options, options.bare, method, inFlight);
        tandem = await measure(options, options.tandem, method, inFlight);
      }
      tandemFirst = !tandemFirst;
      const row: CrudRow = {
        dialect: options.dialect,
        method,
        inFlight,
        tandem,
        bare,
        ratio: tandem.callsPerSecond / bare.callsPerSecond,
      };
      rows.push(row);
      options.log(
        `  ${method} x${inFlight}: Tandem ${Math.round(tandem.callsPerSecond)}/s, bare ${Math.round(bare.callsPerSecond)}/s` +
          ` (${row.ratio.toFixed(2)}x)${tandem.errors + bare.errors > 0 ? ` errors: ${tandem.firstError || bare.firstError}` : ''}`,
      );
    }
  }
  return rows;
}
