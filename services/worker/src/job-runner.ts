import { status as Code } from '@grpc/grpc-js';
import type { ClaimedAttempt } from '../../../proto/gen/tandem/v1/worker';
import type { DispatchMessage } from '../../shared/bee-queue-settings';
import type { Logger } from '../../shared/logger';
import { codeOf, REPORT_RETRY_CODES, withRetry } from '../../shared/retry-policy';
import type { DataServiceClient } from './data-service-client';
import { NonRetryableError, type JobHandler } from './job-handler';
import type { AttemptReporter } from './report-batcher';
import type { Slot } from './slot-scheduler';

export interface JobRunnerOptions {
  /** For heartbeats, and handed to handlers. */
  readonly data: DataServiceClient;
  /** Where starts and outcomes go (in batches). */
  readonly reporter: AttemptReporter;
  readonly handlers: ReadonlyMap<string, JobHandler>;
  readonly workerId: string;
  readonly log: Logger;
  /** Aborted when the worker starts shutting down: running handlers get the grace period. */
  readonly stopping: AbortSignal;
  /** Aborted when the grace period is over: running handlers are aborted and their attempts released. */
  readonly released: AbortSignal;
}

/** Codes that mean "this attempt is not yours to run": skip the delivery. */
const SKIP_CODES: ReadonlySet<Code> = new Set([Code.ABORTED, Code.FAILED_PRECONDITION, Code.NOT_FOUND]);

type AbortReason = 'timeout' | 'cancelled' | 'released' | 'lease-lost';

/** The claimed attempt's job, as far as its handler needs it. */
interface ClaimedJob {
  readonly id: string;
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>> | undefined;
}

function durationMs(duration: { seconds: string; nanos: number } | undefined): number {
  return duration ? Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1e6) : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs one delivery of one attempt: claim it (a start report), run the handler with a timeout, heartbeats
 * and an AbortSignal, then record the outcome. Reports are retried while the data service is away;
 * every report names the attempt, so a retried or late one changes nothing.
 */
export function createJobRunner(options: JobRunnerOptions) {
  const { data, reporter, handlers, workerId, log } = options;

  function report<T>(call: () => Promise<T>): Promise<T> {
    return withRetry(call, {
      codes: REPORT_RETRY_CODES,
      firstDelayMs: 100,
      maxDelayMs: 5000,
      signal: options.released,
      onRetry: (error, delayMs) => {
        log.warn({ err: error, delayMs }, 'the data service did not take a report; retrying');
      },
    });
  }

  async function start(message: DispatchMessage) {
    try {
      return await report(() => reporter.start({ ...message, workerId }));
    } catch (error) {
      const code = codeOf(error);
      if (code !== undefined && SKIP_CODES.has(code)) {
        log.debug({ ...message, code: Code[code] }, 'skipping a delivery whose attempt is not ours to run');
        return undefined;
      }
      throw error;
    }
  }

  /** What aborts each running attempt: one listener on `released` serves them all. */
  const running = new Set<(why: AbortReason) => void>();
  options.released.addEventListener(
    'abort',
    () => {
      for (const abort of running) abort('released');
    },
    { once: true },
  );

  /**
   * Runs the handler until it settles or is aborted. A no-op job runs in tens of microseconds, so the
   * machinery per attempt is kept small: one timer serves both the heartbeats and the timeout, and the
   * AbortController is made only for a handler that reads its signal.
   */
  async function execute(
    job: ClaimedJob,
    handler: JobHandler,
    attempt: number,
    timeoutMs: number,
    heartbeatMs: number,
  ) {
    let reason: AbortReason | undefined;
    let abortError: Error | undefined;
    let controller: AbortController | undefined;
    let stopWaiting: ((error: Error) => void) | undefined;
    const abort = (why: AbortReason): void => {
      if (reason !== undefined) return;
      reason = why;
      abortError = new Error(`job ${why}`);
      controller?.abort(abortError);
      stopWaiting?.(abortError);
    };
    running.add(abort);
    let progress = { percent: 0, message: '' };
    const sendProgress = async (): Promise<void> => {
      try {
        const answer = await data.worker.reportProgress({
          jobId: job.id,
          attempt,
          workerId,
          progress: progress.percent,
          message: progress.message,
        });
        if (answer.cancelRequested) abort('cancelled');
      } catch (error) {
        if (codeOf(error) === Code.ABORTED) abort('lease-lost');
        else log.warn({ err: error, jobId: job.id }, 'heartbeat failed; the lease may lapse');
      }
    };
    const deadline = Date.now() + timeoutMs;
    const tick = (): void => {
      const left = deadline - Date.now();
      if (left <= 0) {
        abort('timeout');
        return;
      }
      void sendProgress();
      timer = setTimeout(tick, Math.min(heartbeatMs, left));
    };
    let timer = setTimeout(tick, Math.min(heartbeatMs, timeoutMs));
    let jobLog: Logger | undefined;
    try {
      const payload: unknown = handler.payload.parse(job.payload ?? {});
      const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
        stopWaiting = reject;
        handler
          .run({
            payload,
            jobId: job.id,
            attempt,
            get signal() {
              if (!controller) {
                controller = new AbortController();
                if (abortError) controller.abort(abortError);
              }
              return controller.signal;
            },
            progress: async (percent, message = '') => {
              progress = { percent: Math.max(0, Math.min(100, Math.round(percent))), message: message.slice(0, 500) };
              await sendProgress();
            },
            // Made on first use: a child logger costs more than many handlers' whole run.
            get log() {
              return (jobLog ??= log.child({ jobId: job.id, attempt, type: job.type }));
            },
            data,
          })
          .then(resolve, reject);
      });
      return { ok: true as const, result };
    } catch (error) {
      return { ok: false as const, error, reason };
    } finally {
      clearTimeout(timer);
      running.delete(abort);
    }
  }

  /** Runs a claimed attempt in its slot and records its outcome. */
  async function runClaimed(message: DispatchMessage, claimed: ClaimedAttempt, slot: Slot): Promise<void> {
    const job: ClaimedJob = { id: message.jobId, type: claimed.type, payload: claimed.payload };
    const { attempt } = message;
    const handler = handlers.get(job.type);
    const outcome = options.released.aborted
      ? { ok: false as const, error: new Error('job released'), reason: 'released' as const }
      : handler
        ? await execute(job, handler, attempt, durationMs(claimed.timeout), durationMs(claimed.heartbeatInterval))
        : {
            ok: false as const,
            error: new Error(`no handler for job type ${job.type} on worker ${workerId}`),
            reason: undefined,
          };
    // The next delivery claims its attempt in the same batch as this outcome, and runs once it is recorded.
    slot.handOver();
    if (outcome.reason === 'lease-lost') {
      log.warn({ jobId: job.id, attempt }, 'the attempt was taken away (lease lapsed or job moved on); not reporting');
      return;
    }
    try {
      if (outcome.ok) {
        await report(() => reporter.complete({ jobId: job.id, attempt, workerId, result: outcome.result }));
        log.info({ jobId: job.id, attempt, type: job.type }, 'job attempt succeeded');
        return;
      }
      const retryable = !(
        outcome.error instanceof NonRetryableError || outcome.error?.constructor?.name === 'ZodError'
      );
      const error =
        outcome.reason === 'timeout' ? `timed out after ${durationMs(claimed.timeout)} ms` : messageOf(outcome.error);
      await report(() =>
        reporter.fail({
          jobId: job.id,
          attempt,
          workerId,
          error,
          retryable,
          released: outcome.reason === 'released',
        }),
      );
      log.info(
        { jobId: job.id, attempt, type: job.type, error, retryable, reason: outcome.reason },
        'job attempt failed',
      );
    } catch (error) {
      if (codeOf(error) === Code.ABORTED) {
        log.warn({ jobId: job.id, attempt }, 'the data service refused a stale report; the job moved on');
        return;
      }
      throw error;
    }
  }

  /**
   * Handles one bee-queue delivery in its slot; resolves once its outcome is recorded (or it was skipped).
   * The claim goes out at once, so that a slot handed over is claimed beside the outcome before it.
   */
  return async function runDelivery(message: DispatchMessage, slot: Slot): Promise<void> {
    try {
      const claimed = await start(message);
      await slot.ready;
      if (claimed) await runClaimed(message, claimed, slot);
    } finally {
      slot.release();
    }
  };
}

export type RunDelivery = ReturnType<typeof createJobRunner>;
