import fs from 'node:fs';
import path from 'node:path';
import type BeeQueue from 'bee-queue';
import type { RedisClient } from 'redis';

const SCRIPT_DIR = path.join(path.dirname(require.resolve('bee-queue')), 'lib', 'lua');

/** bee-queue's Lua scripts, read as bee-queue reads them: Redis names each by the SHA1 of this text. */
const SCRIPTS = fs
  .readdirSync(SCRIPT_DIR)
  .filter((file) => file.endsWith('.lua'))
  .map((file) => fs.readFileSync(path.join(SCRIPT_DIR, file), 'utf8'));

/**
 * bee-queue loads its Lua scripts into Redis once, when it first connects, and then calls them by SHA1
 * (EVALSHA). A Redis that comes back empty (a restart without persistence, a failover, SCRIPT FLUSH)
 * answers every such call NOSCRIPT for as long as the process lives: no job could be published again
 * and no stalled delivery recovered. This loads them again whenever the queue's connection is ready again.
 */
export function reloadScriptsOnReconnect<T>(queue: BeeQueue<T>, onError: (error: Error) => void): void {
  queue.ready().then(
    () => {
      const client = (queue as unknown as { client: RedisClient }).client;
      client.on('ready', () => {
        for (const script of SCRIPTS) {
          client.script('load', script, (error: Error | null) => {
            if (error) onError(error);
          });
        }
      });
    },
    () => undefined,
  );
}

/** The longest a worker waits before fetching again after a Redis error. */
const MAX_FETCH_RETRY_DELAY_MS = 5000;

/**
 * bee-queue doubles its wait after every failed fetch (1 s, 2 s, 4 s, …) without a cap, so after a long
 * Redis outage a worker would sit idle for minutes once Redis is back. On each error (emitted just
 * before the doubling) the wait is lowered so that the next one is at most MAX_FETCH_RETRY_DELAY_MS.
 */
export function capFetchRetryDelay<T>(queue: BeeQueue<T>): void {
  const internals = queue as unknown as { _redisFailureRetryDelay?: number };
  queue.on('error', () => {
    if ((internals._redisFailureRetryDelay ?? 0) * 2 > MAX_FETCH_RETRY_DELAY_MS) {
      internals._redisFailureRetryDelay = MAX_FETCH_RETRY_DELAY_MS / 2;
    }
  });
}

/** What `coalesceWrites` needs of the `redis` client, beyond its declared API. */
interface ClientWrites {
  write(data: string | Buffer): void;
  readonly stream: { cork(): void; uncork(): void };
}

/**
 * Corks `client`'s socket at its first command of a turn of the event loop and uncorks it when
 * `afterTurn` calls back.
 */
function corkEachTurn(client: ClientWrites, afterTurn: (uncork: () => void) => void): void {
  const write = client.write.bind(client);
  let corked = false;
  client.write = (data) => {
    if (!corked) {
      const { stream } = client;
      corked = true;
      stream.cork();
      afterTurn(() => {
        corked = false;
        stream.uncork();
      });
    }
    write(data);
  };
}

/**
 * The `redis` client bundled with bee-queue writes each command to its socket at once: one system call
 * per command, and a delivery takes four. Here each socket is corked at its first command of a turn of
 * the event loop and uncorked once the turn is over, so that the commands of every job that moves in
 * one turn leave in one write per connection (what ioredis calls auto-pipelining). Commands and replies
 * keep their order. The worker's blocking fetches of next jobs are each sent from a setImmediate
 * callback of their own, with ticks run between them, so that connection stays corked until the
 * callbacks of this turn have all run; fetches sent together wait in Redis one after the other, as
 * they did when sent apart.
 */
export function coalesceWrites<T>(queue: BeeQueue<T>): void {
  queue.ready().then(
    () => {
      const { client, bclient } = queue as unknown as { client: ClientWrites; bclient: ClientWrites | null };
      corkEachTurn(client, (uncork) => process.nextTick(uncork));
      if (bclient) corkEachTurn(bclient, (uncork) => setImmediate(uncork));
    },
    () => undefined,
  );
}

/** How a process handler fails a delivery it hands back (see `handBack`). */
class DeliveryHandedBack extends Error {
  override readonly name = 'DeliveryHandedBack';
}

/**
 * bee-queue has no call that puts a fetched job back for another worker. A job that fails with a retry
 * left goes back to the waiting list (behind the jobs already there) in the same MULTI that takes it off
 * this worker's active list, so a process handler hands its delivery back by giving the job one retry
 * and failing with what this throws. Jobs are published with none, so every other failure still removes
 * the job from Redis as before.
 */
export function handBack<T>(job: BeeQueue.Job<T>): never {
  job.retries(1);
  throw new DeliveryHandedBack(`job ${job.id} was fetched but not started; it goes back to the queue`);
}
