import assert from 'node:assert/strict';
import {
  createSlotScheduler,
  type QueueName,
  type Slot,
  type SlotScheduler,
} from '../../services/worker/src/slot-scheduler';

const WEIGHTS = { critical: 6, default: 3, low: 1 } as const;

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Queues `perQueue` waiters on each queue behind one held slot, then lets them run one at a time
 * (each releases its slot as soon as it gets it); answers the queues in the order they were served.
 */
async function serveOrder(slots: SlotScheduler, queues: readonly QueueName[], perQueue: number): Promise<QueueName[]> {
  const held = await slots.acquire('critical');
  assert.ok(held);
  const served: QueueName[] = [];
  const waiters = queues.flatMap((queue) =>
    Array.from({ length: perQueue }, () =>
      slots.acquire(queue).then((slot) => {
        assert.ok(slot, `a ${queue} waiter was turned away`);
        served.push(queue);
        slot.release();
      }),
    ),
  );
  await settle();
  assert.deepEqual(served, [], 'nobody may start while the only slot is held');
  held.release();
  await Promise.all(waiters);
  return served;
}

describe('slot scheduler', () => {
  it('grants a free slot at once and holds later jobs until it is released', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'weighted', weights: WEIGHTS });
    const first = await slots.acquire('low');
    const waiting = slots.acquire('low');
    let granted = false;
    void waiting.then(() => (granted = true));
    await settle();

    assert.ok(first);
    assert.equal(granted, false);
    assert.equal(slots.waitingCount('low'), 1);

    first.release();
    const second = await waiting;
    assert.ok(second);
    assert.equal(slots.waitingCount('low'), 0);
    second.release();
  });

  it('in strict mode serves every critical job, then every default one, then the low ones', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });

    const served = await serveOrder(slots, ['low', 'default', 'critical'], 4);

    assert.deepEqual(served, [
      ...Array<QueueName>(4).fill('critical'),
      ...Array<QueueName>(4).fill('default'),
      ...Array<QueueName>(4).fill('low'),
    ]);
  });

  it('in weighted mode follows the smooth weighted round robin of 6/3/1 while every queue waits', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'weighted', weights: WEIGHTS });

    const served = await serveOrder(slots, ['low', 'default', 'critical'], 10);

    assert.deepEqual(served.slice(0, 10), [
      'critical',
      'default',
      'critical',
      'critical',
      'default',
      'critical',
      'low',
      'critical',
      'default',
      'critical',
    ]);
  });

  it('in weighted mode shares 6/3/1 over many grants and gives the rest to whoever still waits', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'weighted', weights: WEIGHTS });

    const served = await serveOrder(slots, ['critical', 'default', 'low'], 100);

    const firstHundred = served.slice(0, 100);
    const share = (queue: QueueName): number => firstHundred.filter((name) => name === queue).length;
    assert.deepEqual([share('critical'), share('default'), share('low')], [60, 30, 10]);
    assert.equal(served.length, 300);
  });

  it('never runs more jobs at once than its concurrency', async () => {
    const slots = createSlotScheduler({ concurrency: 3, mode: 'weighted', weights: WEIGHTS });
    const queues: readonly QueueName[] = ['critical', 'default', 'low'];
    let running = 0;
    let most = 0;
    let ran = 0;

    await Promise.all(
      Array.from({ length: 60 }, async (_unused, index) => {
        const slot = await slots.acquire(queues[index % 3] ?? 'default');
        assert.ok(slot);
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, index % 4));
        running -= 1;
        ran += 1;
        slot.release();
      }),
    );

    assert.equal(ran, 60);
    assert.equal(most, 3);
  });

  it('frees one slot however often a release is called', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });
    const first = await slots.acquire('default');
    assert.ok(first);
    const granted: QueueName[] = [];
    for (const queue of ['default', 'low'] as const) void slots.acquire(queue).then(() => granted.push(queue));

    first.release();
    first.release();
    await settle();

    assert.deepEqual(granted, ['default']);
    assert.equal(slots.waitingCount('low'), 1);
    slots.close();
  });

  it('once closed, turns away every waiting job and every later one', async () => {
    const slots = createSlotScheduler({ concurrency: 1, mode: 'weighted', weights: WEIGHTS });
    const held = await slots.acquire('critical');
    assert.ok(held);
    const waiting = [slots.acquire('critical'), slots.acquire('default'), slots.acquire('low')];

    slots.close();

    assert.deepEqual(await Promise.all(waiting), [undefined, undefined, undefined]);
    assert.equal(await slots.acquire('critical'), undefined);
    held.release();
    assert.equal(await slots.acquire('low'), undefined);
    for (const queue of ['critical', 'default', 'low'] as const) assert.equal(slots.waitingCount(queue), 0);
  });

  describe('handing a slot over', () => {
    it('picks the next job at once, but lets it run only once the slot is released', async () => {
      const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });
      const first = await slots.acquire('default');
      assert.ok(first);
      const granted: Slot[] = [];
      void slots.acquire('low').then((slot) => slot && granted.push(slot));
      await settle();
      assert.equal(granted.length, 0);

      first.handOver();
      await settle();
      const [next] = granted;
      assert.ok(next, 'the waiting job gets the slot when the handler ends, to claim its attempt');
      assert.equal(slots.waitingCount('low'), 0);
      let ready = false;
      void next.ready.then(() => (ready = true));
      await settle();
      assert.equal(ready, false, 'it may not run while the first job still holds the slot');

      first.release();
      await settle();
      assert.equal(ready, true);
    });

    it('follows the priority order when it picks', async () => {
      const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });
      const first = await slots.acquire('low');
      assert.ok(first);
      const granted: QueueName[] = [];
      for (const queue of ['low', 'default', 'critical'] as const) {
        void slots.acquire(queue).then(() => granted.push(queue));
      }
      await settle();

      first.handOver();
      await settle();

      assert.deepEqual(granted, ['critical']);
    });

    it('with nobody waiting, returns the slot to the pool on release', async () => {
      const slots = createSlotScheduler({ concurrency: 1, mode: 'weighted', weights: WEIGHTS });
      const first = await slots.acquire('default');
      assert.ok(first);

      first.handOver();
      first.release();
      const later = await slots.acquire('default');

      assert.ok(later);
      await later.ready;
    });

    it('hands a slot over once, and keeps one job per slot however the releases interleave', async () => {
      const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });
      const first = await slots.acquire('default');
      assert.ok(first);
      const granted: Slot[] = [];
      for (let index = 0; index < 3; index += 1)
        void slots.acquire('default').then((slot) => slot && granted.push(slot));
      await settle();

      first.handOver();
      first.handOver();
      await settle();
      assert.equal(granted.length, 1);
      assert.equal(slots.waitingCount('default'), 2);

      // The next job gives up its slot before it ever held it (its claim was refused): the slot still goes
      // on only once the first job is done, and to one job at a time.
      const [second] = granted;
      assert.ok(second);
      second.release();
      await settle();
      assert.equal(granted.length, 1);

      first.release();
      await settle();
      assert.equal(granted.length, 2);
      assert.equal(slots.waitingCount('default'), 1);
      slots.close();
    });

    it('once closed, hands nothing over; a job already handed the slot still gets it', async () => {
      const slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: WEIGHTS });
      const first = await slots.acquire('default');
      assert.ok(first);
      const handed = slots.acquire('default');
      const turnedAway = slots.acquire('default');
      await settle();
      first.handOver();
      const second = await handed;
      assert.ok(second);

      slots.close();
      second.handOver();
      first.release();
      await second.ready;

      assert.equal(await turnedAway, undefined);
      second.release();
      assert.equal(await slots.acquire('default'), undefined);
    });
  });
});
