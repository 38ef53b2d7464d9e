import { status as Code } from '@grpc/grpc-js';
import type { Status } from '../../../proto/gen/google/rpc/status';
import { isCode } from '../../shared/retry-policy';
import type {
  AttemptReport,
  AttemptReportResult,
  BatchReportAttemptsRequest,
  BatchReportAttemptsResponse,
  ClaimedAttempt,
  CompleteAttemptRequest,
  FailAttemptRequest,
  StartAttemptRequest,
} from '../../../proto/gen/tandem/v1/worker';

/** The most reports BatchReportAttempts takes in one call. */
export const MAX_REPORTS_PER_BATCH = 500;

/** How the worker records each step of an attempt: one call per report, whatever carries it. */
export interface AttemptReporter {
  start(request: StartAttemptRequest): Promise<ClaimedAttempt>;
  complete(request: CompleteAttemptRequest): Promise<void>;
  fail(request: FailAttemptRequest): Promise<void>;
}

/** A report the data service refused; `code` is the gRPC code the single method would have failed with. */
export class ReportRefusedError extends Error {
  override readonly name = 'ReportRefusedError';
  readonly code: Code;
  constructor(status: Status) {
    super(`${Code[status.code] ?? status.code}: ${status.message}`);
    this.code = isCode(status.code) ? status.code : Code.UNKNOWN;
  }
}

type Report = NonNullable<AttemptReport['report']>;

interface PendingReport {
  readonly report: Report;
  readonly settle: (result: AttemptReportResult | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends reports in batches: a report waits only while the previous batch is in flight, so that an idle
 * worker reports at once and a busy one sends everything that piled up in one call and one transaction.
 * One exception: a start never waits behind a call that carries no start. At a light load that call is
 * the previous job's completion, and waiting for it would add a whole call to the start of every job;
 * under load calls carry both kinds and batches stay large. A job is never in two batches at once (a
 * second report of a job waits for the next batch). A failed call fails every report it carried, for
 * each caller to retry.
 */
export function createReportBatcher(
  send: (request: BatchReportAttemptsRequest) => Promise<BatchReportAttemptsResponse>,
  maxBatch: number,
): AttemptReporter {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be 1 or more, not ${maxBatch}`);
  let waiting: PendingReport[] = [];
  let callsInFlight = 0;
  let startsInFlight = false;
  let scheduled = false;
  /** The jobs of the calls in flight. */
  const sending = new Set<string>();

  function mayFlush(): boolean {
    if (waiting.length === 0) return false;
    if (callsInFlight === 0) return true;
    return callsInFlight === 1 && !startsInFlight && waiting.some((pending) => pending.report.$case === 'start');
  }

  function takeBatch(): PendingReport[] {
    const jobs = new Set<string>();
    const batch: PendingReport[] = [];
    const rest: PendingReport[] = [];
    for (const pending of waiting) {
      const { jobId } = pending.report.value;
      if (batch.length < maxBatch && !jobs.has(jobId) && !sending.has(jobId)) {
        jobs.add(jobId);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    waiting = rest;
    return batch;
  }

  async function flush(): Promise<void> {
    scheduled = false;
    if (!mayFlush()) return;
    const batch = takeBatch();
    if (batch.length === 0) return;
    const carriesStart = batch.some((pending) => pending.report.$case === 'start');
    callsInFlight += 1;
    if (carriesStart) startsInFlight = true;
    for (const pending of batch) sending.add(pending.report.value.jobId);
    try {
      const { results } = await send({ reports: batch.map((pending) => ({ report: pending.report })) });
      batch.forEach((pending, index) => {
        pending.settle(results[index]);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      callsInFlight -= 1;
      if (carriesStart) startsInFlight = false;
      for (const pending of batch) sending.delete(pending.report.value.jobId);
      schedule();
    }
  }

  /** Flushes on the next turn of the event loop, so that the reports of one turn share a batch. */
  function schedule(): void {
    if (scheduled || !mayFlush()) return;
    scheduled = true;
    setImmediate(() => void flush());
  }

  function submit(report: Report): Promise<AttemptReportResult['result']> {
    return new Promise((resolve, reject) => {
      waiting.push({
        report,
        reject,
        settle: (result) => {
          const answer = result?.result;
          if (answer === undefined)
            reject(new Error(`the data service answered no result for job ${report.value.jobId}`));
          else if (answer.$case === 'error') reject(new ReportRefusedError(answer.value));
          else resolve(answer);
        },
      });
      schedule();
    });
  }

  return {
    start: async (request) => {
      const answer = await submit({ $case: 'start', value: request });
      if (answer?.$case !== 'claimed') throw new Error(`the data service answered a start with ${answer?.$case}`);
      return answer.value;
    },
    complete: async (request) => {
      await submit({ $case: 'complete', value: request });
    },
    fail: async (request) => {
      await submit({ $case: 'fail', value: request });
    },
  };
}
