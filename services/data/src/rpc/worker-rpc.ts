import {
  ReportProgressResponse,
  StartAttemptResponse,
  type WorkerServiceServer,
  WorkerServiceService,
} from '../../../../proto/gen/tandem/v1/worker';
import type { WorkerReports } from '../domain/worker-reports';
import { fromMs } from './duration';
import { toJobMessage } from './job-rpc';
import type { ServiceAdapter } from './service-adapter';

/** WorkerService over the worker reports domain; the authorizer keeps it to worker tokens. */
export function createWorkerRpc(
  adapt: ServiceAdapter,
  reports: WorkerReports,
): [typeof WorkerServiceService, WorkerServiceServer] {
  return [
    WorkerServiceService,
    adapt<WorkerServiceServer>(WorkerServiceService, {
      startAttempt: async ({ jobId, attempt, workerId }) => {
        const started = await reports.startAttempt(jobId, attempt, workerId);
        return StartAttemptResponse.fromPartial({
          job: toJobMessage(started.job),
          timeout: fromMs(started.timeoutMs),
          heartbeatInterval: fromMs(started.heartbeatMs),
        });
      },
      reportProgress: async ({ jobId, attempt, workerId, progress, message }) =>
        ReportProgressResponse.fromPartial(await reports.reportProgress(jobId, attempt, workerId, progress, message)),
      completeAttempt: async ({ jobId, attempt, workerId, result }) =>
        toJobMessage(await reports.completeAttempt(jobId, attempt, workerId, result ?? {})),
      failAttempt: async ({ jobId, attempt, workerId, error, retryable, released }) =>
        toJobMessage(await reports.failAttempt(jobId, attempt, workerId, { error, retryable, released })),
    }),
  ];
}
