import type { Store } from '../store';
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

export function dispatchKey(jobId: string, attempt: number): string {
  return `${jobId}:${attempt}`;
}

/**
 * The transactional outbox: the jobs table is the outbox and these use cases move it to Redis. Every
 * step is safe to run on several data-service replicas at once and to repeat after a crash.
 */
export function createDispatch(store: Store, port: JobQueuePort, signals: JobSignals) {
  /**
   * Hands due jobs to Redis and marks them queued, in one transaction that holds their rows: if Redis
   * refuses, nothing is marked and the jobs wait for the next round. Answers how many were dispatched.
   */
  async function dispatchDue(limit: number): Promise<number> {
    const paused = await store.jobTypes.pausedNames();
    const dispatched = await store.inTransaction(async (tx) => {
      const due = await store.jobs.lockDue(tx, new Date(), limit, paused);
      if (due.length === 0) return [];
      const items = due.map((job) => {
        const attempt = job.attempt + 1;
        return { jobId: job.id, attempt, queue: job.queue as QueueName, key: dispatchKey(job.id, attempt) };
      });
      await port.publish(items);
      const now = new Date();
      for (const job of due) {
        await store.jobs.move(tx, job.id, { from: [job.state], attempt: job.attempt }, 'queued', { queuedAt: now });
      }
      await store.jobs.addEvents(
        tx,
        due.map((job) => ({
          jobId: job.id,
          attempt: job.attempt,
          fromState: job.state,
          toState: 'queued',
          progress: null,
          message: `dispatched to the ${job.queue} queue`,
          workerId: null,
        })),
      );
      return due;
    });
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
    const items = queued.map((job) => ({
      jobId: job.id,
      attempt: job.attempt + 1,
      queue: job.queue as QueueName,
      key: dispatchKey(job.id, job.attempt + 1),
    }));
    const lost = await port.missing(items);
    if (lost.length > 0) await port.publish(lost);
    // Checked jobs go to the back of the line, so that a long backlog is reconciled in full over rounds.
    await store.jobs.touchQueued(
      queued.map((job) => job.id),
      new Date(),
    );
    return lost.length;
  }

  /** Deletes, type by type, finished jobs older than their type's retention, `batch` rows at a time. */
  async function sweepRetention(batch: number): Promise<number> {
    let deleted = 0;
    for (const type of await store.jobTypes.listAll()) {
      const cutoff = new Date(Date.now() - type.retentionMs);
      for (let removed = batch; removed === batch;) {
        removed = await store.jobs.deleteFinished(type.name, cutoff, batch);
        deleted += removed;
      }
    }
    return deleted;
  }

  return { dispatchDue, reconcile, sweepRetention };
}

export type Dispatch = ReturnType<typeof createDispatch>;
