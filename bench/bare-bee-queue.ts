/**
 * The ceiling of the queue: bare bee-queue moving no-op jobs, with the settings Tandem's worker uses and
 * nothing else. Two roles, each a process of its own, started by bench/jobs.ts:
 *
 *   node dist/bench/bare-bee-queue.js worker <redis-url> <prefix> <concurrency>
 *   node dist/bench/bare-bee-queue.js producer <redis-url> <prefix>
 */
import './parent-guard';
import BeeQueue from 'bee-queue';
import {
  errorText,
  isCommandOf,
  serveRequests,
  type ProduceCommand,
  type ProduceResult,
  type ProgressMessage,
} from './protocol';

const QUEUE = 'bench';
const PROGRESS_INTERVAL_MS = 50;

function redisOptions(url: string): { host: string; port: number; db: number } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
  };
}

async function runWorker(redisUrl: string, prefix: string, concurrency: number): Promise<void> {
  const queue = new BeeQueue<{ readonly n: number }>(QUEUE, {
    prefix,
    redis: redisOptions(redisUrl),
    isWorker: true,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: true,
    removeOnFailure: true,
  });
  let done = 0;
  let lastDoneAt = 0;
  // `succeeded` is emitted once bee-queue has recorded the job as finished in Redis.
  queue.on('succeeded', () => {
    done += 1;
    lastDoneAt = Date.now();
  });
  queue.on('error', (error) => process.stderr.write(`bare worker: ${error.message}\n`));
  queue.process(concurrency, () => Promise.resolve({}));
  await queue.ready();
  let reported = -1;
  setInterval(() => {
    if (done === reported) return;
    reported = done;
    process.send?.({ type: 'progress', done, lastDoneAt } satisfies ProgressMessage);
  }, PROGRESS_INTERVAL_MS);
  process.send?.({ type: 'ready' });
}

async function runProducer(redisUrl: string, prefix: string): Promise<void> {
  const queue = new BeeQueue<{ readonly n: number }>(QUEUE, {
    prefix,
    redis: redisOptions(redisUrl),
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
  });
  queue.on('error', (error) => process.stderr.write(`bare producer: ${error.message}\n`));
  await queue.ready();
  serveRequests<ProduceCommand, ProduceResult>(isCommandOf(['produce']), async (command) => {
    let next = 0;
    const startedAt = Date.now();
    const stopAt = startedAt + command.maxDurationMs;
    const loop = async (): Promise<void> => {
      while (next < command.jobs && Date.now() < stopAt) {
        const count = Math.min(command.batchSize, command.jobs - next);
        const jobs = Array.from({ length: count }, (_unused, index) => queue.createJob({ n: next + index }));
        next += count;
        const failures = await queue.saveAll(jobs);
        const [failure] = failures.values();
        if (failure) throw failure;
      }
    };
    await Promise.all(Array.from({ length: command.inFlight }, loop));
    return { kind: 'produce', startedAt, endedAt: Date.now(), saved: next };
  });
  process.send?.({ type: 'ready' });
}

const [role, redisUrl = '', prefix = '', concurrency = '10'] = process.argv.slice(2);
const started =
  role === 'worker'
    ? runWorker(redisUrl, prefix, Number(concurrency))
    : role === 'producer'
      ? runProducer(redisUrl, prefix)
      : Promise.reject(new Error(`unknown role ${String(role)}: worker or producer`));
started.catch((error: unknown) => {
  process.stderr.write(`bare bee-queue: ${errorText(error)}\n`);
  process.exit(1);
});
