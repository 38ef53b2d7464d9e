import type { DueJob, Store, Tx } from '../store';
import { deleteInBatches } from './batched-delete';
import type { JobSignals } from './job-signals';
import type { QueueName } from './job-types';

/** One attempt handed to Redis; `key` is the same every time the same attempt is dispatched. */
export interface DispatchItem {
  readonly jobId: string;
  readonly attempt: number;
  readonly queue: QueueName;
  readonly key: string;
}

/** What the dispatcher needs from the queue it feeds (bee-queue in production). */
export interface JobQueuePort {
  /** Adds the items; an item whose key is already there is not added twice. */
  publish(items: readonly DispatchItem[]): Promise<void>;
  /** The items Redis no longer holds (lost in a restart or a FLUSHALL). */
  missing(items: readonly DispatchItem[]): Promise<DispatchItem[]>;
  /** Resolves when Redis answers. */
  ping(): Promise<void>;
}

/** A dispatch round's mark, which a database crash may undo (see dispatchDue). */
const NOT_DURABLE = { durable: false } as const;

export function dispatchKey(jobId: string, attempt: number): string {
  return `${jobId}:${attempt}`;
}

/**
 * The transactional outbox: the jobs table is the outbox and these use cases move it to Redis. Every
 * step is safe to run on several data-service replicas at once and to repeat after a crash.
 */
export function createDispatch(store: Store, port: JobQueuePort, signals: JobSignals) {
  function toItem(job: DueJob): DispatchItem {
    const attempt = job.attempt + 1;
    return { jobId: job.id, attempt, queue: job.queue as QueueName, key: dispatchKey(job.id, attempt) };
  }

  /**
   * The published jobs still in the state and attempt they were read in: a job read outside the
   * transaction may since have been cancelled, or claimed by a fast worker. Read in the transaction, which
   * on SQLite holds the write lock, so they cannot change before they are marked.
   */
  async function stillAsRead(tx: Tx, published: readonly DueJob[]): Promise<DueJob[]> {
    const rows = await store.jobs.findManyLocked(
      tx,
      published.map((job) => job.id),
    );
    const current = new Map(rows.map((job) => [job.id, job]));
    return published.filter((job) => {
      const now = current.get(job.id);
      return now?.state === job.state && now.attempt === job.attempt;
    });
  }

  /**
   * Marks published jobs queued, in one statement with their events. Rows the transaction holds locked
   * since they were read (`locked`) cannot have changed; otherwise only the jobs still as they were read
   * move.
   */
  async function markQueued(tx: Tx, published: readonly DueJob[], locked: boolean): Promise<DueJob[]> {
    const now = new Date();
    const moved = locked ? [...published] : await stillAsRead(tx, published);
    await store.jobs.applyMoves(
      tx,
      [{ ids: moved.map((job) => job.id), to: 'queued', changes: { queuedAt: now } }],
      moved.map((job) => ({
        jobId: job.id,
        attempt: job.attempt,
        fromState: job.state,
        toState: 'queued',
        progress: null,
        message: `dispatched to the ${job.queue} queue`,
        workerId: null,
      })),
      now,
    );
    return moved;
  }

  /**
   * Hands due jobs to Redis and marks them queued; if Redis refuses, nothing is marked and the jobs
   * wait for the next round. Where rows can be locked (PostgreSQL) the jobs stay locked from read to
   * mark, so that replicas never dispatch the same job; on SQLite (one replica, one writer) the publish
   * runs outside any transaction so that Redis latency never holds the write lock, and the conditional
   * update is the guard. Publishing an attempt twice adds it to Redis once. The mark does not wait for
   * the disk: a database crash that undoes it leaves the job pending, to be published again, and a start
   * is recorded from pending as from queued. Answers how many were dispatched.
   */
  async function dispatchDue(limit: number): Promise<number> {
    const now = new Date();
    let dispatched: DueJob[];
    if (store.skipsLockedRows) {
      dispatched = await store.inTransaction(async (tx) => {
        const due = await store.jobs.findDue(now, limit, tx);
        if (due.length > 0) await port.publish(due.map(toItem));
        return markQueued(tx, due, true);
      }, NOT_DURABLE);
    } else {
      const due = await store.jobs.findDue(now, limit);
      if (due.length === 0) return 0;
      await port.publish(due.map(toItem));
      dispatched = await store.inTransaction((tx) => markQueued(tx, due, false), NOT_DURABLE);
    }
    for (const job of dispatched) signals.jobChanged(job.id);
    return dispatched.length;
  }

  /**
   * Publishes again the queued jobs that Redis lost (a restart without persistence, a FLUSHALL, a
   * failover). Only jobs queued or checked more than `olderThanMs` ago are looked at, oldest first, so
   * that a dispatch in flight is not mistaken for a loss. Answers how many were re-published.
   */
  async function reconcile(olderThanMs: number, limit: number): Promise<number> {
    const queued = await store.jobs.queuedBefore(new Date(Date.now() - olderThanMs), limit);
    if (queued.length === 0) return 0;
    const lost = await port.missing(queued.map(toItem));
    if (lost.length > 0) await port.publish(lost);
    // Checked jobs go to the back of the line, so that a long backlog is reconciled in full over rounds.
    // Every write goes through a transaction: on SQLite a write outside one would wait for the file lock
    // on the shared connection and block the reads of the transaction that holds the lock.
    await store.inTransaction((tx) =>
      store.jobs.touchQueued(
        tx,
        queued.map((job) => job.id),
        new Date(),
      ),
    );
    return lost.length;
  }

  /** Deletes, type by type, finished jobs older than their type's retention, `batch` rows at a time. */
  async function sweepRetention(batch: number): Promise<number> {
    let deleted = 0;
    for (const type of await store.jobTypes.listAll()) {
      const cutoff = new Date(Date.now() - type.retentionMs);
      deleted += await deleteInBatches(store, batch, (tx) => store.jobs.deleteFinished(tx, type.name, cutoff, batch));
    }
    return deleted;
  }

  return { dispatchDue, reconcile, sweepRetention };
}

export type Dispatch = ReturnType<typeof createDispatch>;
