import { z } from 'zod';
import { runMain } from '../../services/shared/run-main';
import { defineJobHandler } from '../../services/worker/src/job-handler';
import { startWorkerService } from '../../services/worker/src/worker-service';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `chaos.sleep`: sleeps `ms` on the first attempt and `laterMs` (default `ms`) on the next ones, and
 * stops at once when its signal aborts. A test-only worker for the chaos and resilience tests.
 */
const sleepJob = defineJobHandler({
  type: 'chaos.sleep',
  payload: z.object({ ms: z.number().int().min(0), laterMs: z.number().int().min(0).optional() }),
  run: async ({ payload, attempt, signal }) => {
    const ms = attempt === 1 ? payload.ms : (payload.laterMs ?? payload.ms);
    await sleep(ms, signal);
    return { sleptMs: ms };
  },
});

runMain('tandem-worker', (config, log) => startWorkerService(config, log, [sleepJob]));
