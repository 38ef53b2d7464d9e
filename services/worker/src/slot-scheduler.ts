import type { QUEUE_NAMES } from '../../shared/bee-queue-settings';

export type QueueName = (typeof QUEUE_NAMES)[number];

/** Highest priority first: the order strict mode serves queues in. */
const PRIORITY_ORDER: readonly QueueName[] = ['critical', 'default', 'low'];

export interface SlotSchedulerOptions {
  readonly concurrency: number;
  readonly mode: 'weighted' | 'strict';
  readonly weights: Readonly<Record<QueueName, number>>;
}

/**
 * One of a worker's slots, granted to one delivery: its handler runs once `ready` resolves, and the
 * delivery keeps the slot until its outcome is recorded.
 */
export interface Slot {
  /** Resolves once the slot is this delivery's: at once, or when the delivery that handed it over is done. */
  readonly ready: Promise<void>;
  /**
   * Picks, now, the waiting delivery that gets this slot next, so that it can claim its attempt while this
   * one's outcome is being recorded; the slot passes to it on `release`. Nobody waits once closed.
   */
  handOver(): void;
  /** Gives the slot up (once `ready`): to the delivery picked by `handOver`, or to the next waiting one. */
  release(): void;
}

const AT_ONCE: Promise<void> = Promise.resolve();

/**
 * Shares a worker's concurrency between its queues. Jobs fetched from every queue wait here for a
 * slot; each freed slot goes to the highest queue with a waiting job (strict) or, by smooth weighted
 * round robin, to the waiting queues in proportion to their weights (weighted).
 */
export function createSlotScheduler({ concurrency, mode, weights }: SlotSchedulerOptions) {
  let free = concurrency;
  const waiting = new Map<QueueName, Array<(slot: Slot | undefined) => void>>(PRIORITY_ORDER.map((name) => [name, []]));
  let closed = false;
  const credit = new Map<QueueName, number>(PRIORITY_ORDER.map((name) => [name, 0]));

  function pick(): QueueName | undefined {
    const candidates = PRIORITY_ORDER.filter((name) => (waiting.get(name)?.length ?? 0) > 0);
    if (mode === 'strict' || candidates.length <= 1) return candidates[0];
    let total = 0;
    let best: QueueName | undefined;
    for (const name of candidates) {
      const weight = weights[name];
      total += weight;
      credit.set(name, (credit.get(name) ?? 0) + weight);
      if (best === undefined || (credit.get(name) ?? 0) > (credit.get(best) ?? 0)) best = name;
    }
    if (best !== undefined) credit.set(best, (credit.get(best) ?? 0) - total);
    return best;
  }

  function returnToPool(): void {
    free += 1;
    grant();
  }

  function nextWaiting(): ((slot: Slot | undefined) => void) | undefined {
    const name = pick();
    return name === undefined ? undefined : waiting.get(name)?.shift();
  }

  function grant(): void {
    while (free > 0) {
      const next = nextWaiting();
      if (!next) return;
      free -= 1;
      next(slotFrom(AT_ONCE));
    }
  }

  function slotFrom(ready: Promise<void>): Slot {
    let released = false;
    let passOn: (() => void) | undefined;
    return {
      ready,
      handOver: () => {
        if (released || passOn) return;
        const next = nextWaiting();
        if (!next) return;
        const handedOver = new Promise<void>((resolve) => (passOn = resolve));
        next(slotFrom(ready.then(() => handedOver)));
      },
      release: () => {
        if (released) return;
        released = true;
        void ready.then(passOn ?? returnToPool);
      },
    };
  }

  return {
    /** Resolves with a slot once one is free or handed over; with undefined once closed. */
    acquire(queue: QueueName): Promise<Slot | undefined> {
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        waiting.get(queue)?.push(resolve);
        grant();
      });
    },
    /** Hands out no more slots: every waiting job and every later one is turned away. */
    close(): void {
      closed = true;
      for (const queue of waiting.values()) for (const resolve of queue.splice(0)) resolve(undefined);
    },
    /** Jobs waiting for a slot, per queue. */
    waitingCount(queue: QueueName): number {
      return waiting.get(queue)?.length ?? 0;
    },
  };
}

export type SlotScheduler = ReturnType<typeof createSlotScheduler>;
