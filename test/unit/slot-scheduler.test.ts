import assert from 'node:assert/strict';
import { createSlotScheduler, type QueueName, type SlotScheduler } from '../../services/worker/src/slot-scheduler';

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
      slots.acquire(queue).then((release) => {
        assert.ok(release, `a ${queue} waiter was turned away`);
        served.push(queue);
        release();
      }),
    ),
  );
  await settle();
  assert.deepEqual(served, [], 'nobody may start while the only slot is held');
  held();
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

    first();
    const second = await waiting;
    assert.ok(second);
    assert.equal(slots.waitingCount('low'), 0);
    second();
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
        const release = await slots.acquire(queues[index % 3] ?? 'default');
        assert.ok(release);
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, index % 4));
        running -= 1;
        ran += 1;
        release();
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

    first();
    first();
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
    held();
    assert.equal(await slots.acquire('low'), undefined);
    for (const queue of ['critical', 'default', 'low'] as const) assert.equal(slots.waitingCount(queue), 0);
  });
});
