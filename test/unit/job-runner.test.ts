import assert from 'node:assert/strict';
import { z } from 'zod';
import { ClaimedAttempt } from '../../proto/gen/tandem/v1/worker';
import { createLogger } from '../../services/shared/logger';
import { connectDataService, type DataServiceClient } from '../../services/worker/src/data-service-client';
import { defineJobHandler } from '../../services/worker/src/job-handler';
import { createJobRunner, type RunDelivery } from '../../services/worker/src/job-runner';
import type { AttemptReporter } from '../../services/worker/src/report-batcher';
import { createSlotScheduler, type SlotScheduler } from '../../services/worker/src/slot-scheduler';

const TYPE = 'runner.test';
const WORKER_ID = 'runner-test-worker';

/** Lets every pending promise callback and immediate run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * An AttemptReporter that claims every start at once and records each report in order; a job's
 * completion is recorded only when the test calls `record(jobId)`.
 */
function createHeldReporter() {
  const reports: string[] = [];
  const held = new Map<string, () => void>();
  const reporter: AttemptReporter = {
    start: (request) => {
      reports.push(`start ${request.jobId}`);
      return Promise.resolve(
        ClaimedAttempt.fromPartial({
          type: TYPE,
          payload: {},
          timeout: { seconds: '60', nanos: 0 },
          heartbeatInterval: { seconds: '30', nanos: 0 },
        }),
      );
    },
    complete: (request) => {
      reports.push(`complete ${request.jobId}`);
      return new Promise((resolve) => held.set(request.jobId, resolve));
    },
    fail: (request) => {
      reports.push(`fail ${request.jobId}${request.released ? ' released' : ''}`);
      return Promise.resolve();
    },
  };
  const record = (jobId: string): void => {
    const resolve = held.get(jobId);
    assert.ok(resolve, `no completion of ${jobId} is waiting`);
    resolve();
  };
  return { reporter, reports, record };
}

describe('job runner', () => {
  let data: DataServiceClient;
  let slots: SlotScheduler;
  let released: AbortController;
  let held: ReturnType<typeof createHeldReporter>;
  let ran: string[];
  let runDelivery: RunDelivery;

  beforeEach(() => {
    // Handed to handlers for their own calls; these handlers make none, so nothing ever connects.
    data = connectDataService('127.0.0.1:1', 'unused', 1000);
    slots = createSlotScheduler({ concurrency: 1, mode: 'strict', weights: { critical: 6, default: 3, low: 1 } });
    released = new AbortController();
    held = createHeldReporter();
    ran = [];
    runDelivery = createJobRunner({
      data,
      reporter: held.reporter,
      handlers: new Map([
        [
          TYPE,
          defineJobHandler({
            type: TYPE,
            payload: z.object({}),
            run: ({ jobId }) => {
              ran.push(jobId);
              return Promise.resolve({});
            },
          }),
        ],
      ]),
      workerId: WORKER_ID,
      log: createLogger('runner-test', 'silent'),
      stopping: new AbortController().signal,
      released: released.signal,
    });
  });

  afterEach(() => {
    data.close();
  });

  /** Runs job `a` in the only slot while job `b` waits for it, as the worker does with each delivery. */
  async function runTwo(): Promise<{ a: Promise<void>; b: Promise<void> }> {
    const first = await slots.acquire('default');
    assert.ok(first);
    const b = slots.acquire('default').then(async (slot) => {
      assert.ok(slot, 'job b was turned away');
      await runDelivery({ jobId: 'b', attempt: 1 }, slot);
    });
    const a = runDelivery({ jobId: 'a', attempt: 1 }, first);
    await settle();
    return { a, b };
  }

  it('claims the job waiting for the slot beside the outcome before it, and runs it only once that is recorded', async () => {
    const { a, b } = await runTwo();

    assert.deepEqual(held.reports, ['start a', 'complete a', 'start b']);
    assert.deepEqual(ran, ['a'], 'job b ran while job a still held the slot');

    held.record('a');
    await a;
    await settle();
    assert.deepEqual(ran, ['a', 'b']);
    held.record('b');
    await b;
  });

  it('when the worker releases its jobs before the slot is free, then the claimed job is released unrun', async () => {
    const { a, b } = await runTwo();

    released.abort();
    held.record('a');
    await Promise.all([a, b]);

    assert.deepEqual(ran, ['a']);
    assert.deepEqual(held.reports, ['start a', 'complete a', 'start b', 'fail b released']);
  });
});
