/**
 * The load generator: a process of its own, so that the clients do not steal the event loop of the
 * server they measure. It drives Tandem and the bare server alike through the generated grpc-js clients.
 */
import './parent-guard';
import { performance } from 'node:perf_hooks';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { BatchEnqueueRequest, EnqueueRequest, JobServiceClient } from '../proto/gen/tandem/v1/job';
import { CreateOrderRequest, OrderServiceClient } from '../proto/gen/tandem/v1/order';
import { GetUserRequest, ListUsersRequest, UserServiceClient } from '../proto/gen/tandem/v1/user';
import {
  errorText,
  isCommandOf,
  serveRequests,
  type CrudCommand,
  type CrudResult,
  type EnqueueCommand,
  type EnqueueResult,
  type LoadCommand,
  type LoadResult,
  type PacedCommand,
} from './protocol';
import { percentile, sleep } from './stats';

const CALL_DEADLINE_MS = 30_000;

type Callback = (error: ServiceError | null) => void;
type Call = (done: Callback) => void;

function deadline(): { deadline: number } {
  return { deadline: Date.now() + CALL_DEADLINE_MS };
}

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}

/** A function that makes one call of `method`, and the clients to close afterwards. */
function crudCall(command: CrudCommand): { call: Call; clients: Client[] } {
  const insecure = credentials.createInsecure();
  switch (command.method) {
    case 'GetUser': {
      const users = new UserServiceClient(command.address, insecure);
      return {
        clients: [users],
        call: (done) =>
          users.getUser(GetUserRequest.fromPartial({ id: pick(command.userIds) }), new Metadata(), deadline(), done),
      };
    }
    case 'ListUsers': {
      const users = new UserServiceClient(command.address, insecure);
      const request = ListUsersRequest.fromPartial({ pageSize: 20 });
      return { clients: [users], call: (done) => users.listUsers(request, new Metadata(), deadline(), done) };
    }
    case 'CreateOrder': {
      const orders = new OrderServiceClient(command.address, insecure);
      return {
        clients: [orders],
        call: (done) =>
          orders.createOrder(
            CreateOrderRequest.fromPartial({
              order: {
                userId: pick(command.userIds),
                amountMinor: String(100 + Math.floor(Math.random() * 10_000)),
                currency: 'EUR',
              },
            }),
            new Metadata(),
            deadline(),
            done,
          ),
      };
    }
  }
}

/** Keeps `inFlight` calls outstanding; counts the calls that complete inside the measured window. */
async function runCrud(command: CrudCommand): Promise<CrudResult> {
  const { call, clients } = crudCall(command);
  const latencies: number[] = [];
  let errors = 0;
  let firstError = '';
  const begin = performance.now();
  const windowStart = begin + command.warmupMs;
  const windowEnd = windowStart + command.durationMs;

  const loop = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      const error = await new Promise<ServiceError | null>((resolve) => call(resolve));
      const ended = performance.now();
      if (ended < windowStart || ended > windowEnd) continue;
      if (error) {
        errors += 1;
        firstError ||= `${error.code}: ${error.details}`;
      } else {
        latencies.push(ended - started);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: command.inFlight }, loop));
  } finally {
    for (const client of clients) client.close();
  }
  return {
    kind: 'crud',
    calls: latencies.length,
    errors,
    firstError,
    windowMs: command.durationMs,
    callsPerSecond: latencies.length / (command.durationMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

function enqueuer(address: string, jobType: string) {
  const jobs = new JobServiceClient(address, credentials.createInsecure());
  const request = EnqueueRequest.fromPartial({ type: jobType, payload: {} });
  return {
    /** Enqueues `count` jobs in one call (Enqueue for one, BatchEnqueue for more). */
    send(count: number): Promise<ServiceError | null> {
      return new Promise((resolve) => {
        if (count === 1) jobs.enqueue(request, new Metadata(), deadline(), resolve);
        else {
          const batch = BatchEnqueueRequest.fromPartial({ requests: Array.from({ length: count }, () => request) });
          jobs.batchEnqueue(batch, new Metadata(), deadline(), resolve);
        }
      });
    },
    close: () => jobs.close(),
  };
}

/** Enqueues every job as fast as `inFlight` outstanding calls allow. */
async function runEnqueue(command: EnqueueCommand): Promise<EnqueueResult> {
  const client = enqueuer(command.address, command.jobType);
  let remaining = command.jobs;
  let accepted = 0;
  let errors = 0;
  let firstError = '';
  const startedAt = Date.now();
  const stopAt = startedAt + command.maxDurationMs;
  const loop = async (): Promise<void> => {
    while (remaining > 0 && Date.now() < stopAt) {
      const count = Math.min(command.batchSize, remaining);
      remaining -= count;
      const error = await client.send(count);
      if (error) {
        errors += 1;
        firstError ||= `${error.code}: ${error.details}`;
      } else accepted += count;
    }
  };
  try {
    await Promise.all(Array.from({ length: command.inFlight }, loop));
  } finally {
    client.close();
  }
  return { kind: 'enqueue', startedAt, endedAt: Date.now(), accepted, errors, firstError };
}

/** Sends `batchSize` jobs every `batchSize / rate` seconds, on schedule whether earlier calls answered or not. */
async function runPaced(command: PacedCommand): Promise<EnqueueResult> {
  const client = enqueuer(command.address, command.jobType);
  const intervalMs = (1000 * command.batchSize) / command.ratePerSecond;
  const calls = Math.max(1, Math.round(command.durationMs / intervalMs));
  const pending: Array<Promise<void>> = [];
  let accepted = 0;
  let errors = 0;
  let firstError = '';
  const startedAt = Date.now();
  const origin = performance.now();
  try {
    for (let index = 0; index < calls; index += 1) {
      const wait = origin + index * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(
        client.send(command.batchSize).then((error) => {
          if (error) {
            errors += 1;
            firstError ||= `${error.code}: ${error.details}`;
          } else accepted += command.batchSize;
        }),
      );
    }
    await Promise.all(pending);
  } finally {
    client.close();
  }
  return { kind: 'enqueue', startedAt, endedAt: Date.now(), accepted, errors, firstError };
}

serveRequests<LoadCommand, LoadResult>(isCommandOf(['crud', 'enqueue', 'paced']), async (command) => {
  try {
    switch (command.kind) {
      case 'crud':
        return await runCrud(command);
      case 'enqueue':
        return await runEnqueue(command);
      case 'paced':
        return await runPaced(command);
    }
  } catch (error) {
    throw new Error(`load generator: ${errorText(error)}`);
  }
});
process.send?.({ type: 'ready' });
