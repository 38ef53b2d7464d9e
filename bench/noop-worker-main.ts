/**
 * A Tandem worker with the bench's handlers only: `bench.noop` does nothing, `bench.latency` answers the
 * time it started (read back from the job's result to measure enqueue-to-start latency). It tells the
 * bench over IPC once it consumes its queues.
 */
import './parent-guard';
import { z } from 'zod';
import { runMain } from '../services/shared/run-main';
import { defineJobHandler } from '../services/worker/src/job-handler';
import { startWorkerService } from '../services/worker/src/worker-service';

const handlers = [
  defineJobHandler({ type: 'bench.noop', payload: z.object({}).passthrough(), run: () => Promise.resolve({}) }),
  defineJobHandler({
    type: 'bench.latency',
    payload: z.object({}).passthrough(),
    run: () => Promise.resolve({ startedAt: Date.now() }),
  }),
];

runMain('tandem-worker', async (config, log) => {
  const service = await startWorkerService(config, log, handlers);
  process.send?.({ type: 'ready' });
  return service;
});
