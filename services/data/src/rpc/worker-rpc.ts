import { status as Code } from '@grpc/grpc-js';
import {
  AttemptReportResult,
  ClaimedAttempt,
  BatchReportAttemptsResponse,
  ReportProgressResponse,
  StartAttemptResponse,
  type AttemptReport as AttemptReportMessage,
  type WorkerServiceServer,
  WorkerServiceService,
} from '../../../../proto/gen/tandem/v1/worker';
import type {
  AttemptReport,
  ClaimedAttempt as Claim,
  ReportOutcome,
  StartedAttempt,
  WorkerReports,
} from '../domain/worker-reports';
import { Violations } from '../domain/violations';
import { fromMs } from './duration';
import { toStatusMessage } from './error-status';
import { toJobMessage } from './job-rpc';
import type { ServiceAdapter } from './service-adapter';

function toStartedMessage(started: StartedAttempt): StartAttemptResponse {
  return StartAttemptResponse.fromPartial({
    job: toJobMessage(started.job),
    timeout: fromMs(started.timeoutMs),
    heartbeatInterval: fromMs(started.heartbeatMs),
  });
}

function toClaimedMessage(claimed: Claim): ClaimedAttempt {
  return ClaimedAttempt.fromPartial({
    type: claimed.type,
    payload: claimed.payload,
    timeout: fromMs(claimed.timeoutMs),
    heartbeatInterval: fromMs(claimed.heartbeatMs),
  });
}

/** The domain's report, or undefined for an entry that names no kind. */
function toReport({ report }: AttemptReportMessage): AttemptReport | undefined {
  switch (report?.$case) {
    case 'start': {
      const { jobId, attempt, workerId } = report.value;
      return { kind: 'start', jobId, attempt, workerId };
    }
    case 'complete': {
      const { jobId, attempt, workerId, result } = report.value;
      return { kind: 'complete', jobId, attempt, workerId, result: result ?? {} };
    }
    case 'fail': {
      const { jobId, attempt, workerId, error, retryable, released } = report.value;
      return { kind: 'fail', jobId, attempt, workerId, failure: { error, retryable, released } };
    }
    default:
      return undefined;
  }
}

function toResultMessage(outcome: ReportOutcome): AttemptReportResult {
  if (!outcome.ok) return { result: { $case: 'error', value: toStatusMessage(outcome.error) } };
  if (outcome.claimed) return { result: { $case: 'claimed', value: toClaimedMessage(outcome.claimed) } };
  return { result: { $case: 'recorded', value: {} } };
}

/** WorkerService over the worker reports domain; the authorizer keeps it to worker tokens. */
export function createWorkerRpc(
  adapt: ServiceAdapter,
  reports: WorkerReports,
): [typeof WorkerServiceService, WorkerServiceServer] {
  return [
    WorkerServiceService,
    adapt<WorkerServiceServer>(WorkerServiceService, {
      startAttempt: async ({ jobId, attempt, workerId }) =>
        toStartedMessage(await reports.startAttempt(jobId, attempt, workerId)),
      reportProgress: async ({ jobId, attempt, workerId, progress, message }) =>
        ReportProgressResponse.fromPartial(await reports.reportProgress(jobId, attempt, workerId, progress, message)),
      completeAttempt: async ({ jobId, attempt, workerId, result }) =>
        toJobMessage(await reports.completeAttempt(jobId, attempt, workerId, result ?? {})),
      failAttempt: async ({ jobId, attempt, workerId, error, retryable, released }) =>
        toJobMessage(await reports.failAttempt(jobId, attempt, workerId, { error, retryable, released })),
      batchReportAttempts: async (request, { log }) => {
        const violations = new Violations();
        const batch: AttemptReport[] = [];
        request.reports.forEach((entry, index) => {
          const report = toReport(entry);
          if (report) batch.push(report);
          else violations.add(`reports[${index}]`, 'must hold start, complete or fail');
        });
        violations.throwIfAny();
        const outcomes = await reports.recordReports(batch, (index, report) => `reports[${index}].${report.kind}.`);
        const results = outcomes.map(toResultMessage);
        // The call itself succeeds: each refusal gets the line a refused single call would have had.
        results.forEach(({ result }, index) => {
          if (result?.$case !== 'error') return;
          const { code, message } = result.value;
          log.info({ index, jobId: batch[index]?.jobId, code: Code[code], message }, 'refused a report of the batch');
        });
        return BatchReportAttemptsResponse.fromPartial({ results });
      },
    }),
  ];
}
