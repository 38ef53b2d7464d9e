import {
  BatchEnqueueResponse,
  CountJobsResponse,
  Job as JobMessage,
  JobEvent as JobEventMessage,
  JobState as JobStateEnum,
  ListJobEventsResponse,
  ListJobsResponse,
  type EnqueueRequest,
  type JobServiceServer,
  JobServiceService,
} from '../../../../proto/gen/tandem/v1/job';
import { isTerminal, type JobState } from '../domain/job-state';
import type { JobSignals } from '../domain/job-signals';
import type { EnqueueInput, Job, JobEvent, Jobs } from '../domain/jobs';
import { invalid } from '../domain/violations';
import { QUEUE_TO_PROTO, queueOf } from './queue-enum';
import type { ServiceAdapter } from './service-adapter';

export const STATE_TO_PROTO: Readonly<Record<JobState, JobStateEnum>> = {
  pending: JobStateEnum.JOB_STATE_PENDING,
  queued: JobStateEnum.JOB_STATE_QUEUED,
  running: JobStateEnum.JOB_STATE_RUNNING,
  succeeded: JobStateEnum.JOB_STATE_SUCCEEDED,
  retrying: JobStateEnum.JOB_STATE_RETRYING,
  dead: JobStateEnum.JOB_STATE_DEAD,
  cancelled: JobStateEnum.JOB_STATE_CANCELLED,
};
const STATE_TO_DOMAIN = new Map(Object.entries(STATE_TO_PROTO).map(([state, value]) => [value, state as JobState]));

function stateOf(value: JobStateEnum, field: string): JobState | undefined {
  if (value === JobStateEnum.JOB_STATE_UNSPECIFIED) return undefined;
  return STATE_TO_DOMAIN.get(value) ?? invalid(field, 'is not a known JOB_STATE value');
}

export function toJobMessage(job: Job): JobMessage {
  return JobMessage.fromPartial({
    id: job.id,
    type: job.type,
    payload: job.payload,
    state: STATE_TO_PROTO[job.state],
    queue: QUEUE_TO_PROTO[job.queue],
    attempt: job.attempt,
    failedAttempts: job.failedAttempts,
    maxAttempts: job.maxAttempts,
    runAt: job.runAt,
    idempotencyKey: job.idempotencyKey,
    result: job.result ?? undefined,
    lastError: job.lastError,
    progress: job.progress,
    progressMessage: job.progressMessage,
    cancelRequested: job.cancelRequested,
    workerId: job.workerId,
    createTime: job.createdAt,
    updateTime: job.updatedAt,
    finishTime: job.finishedAt ?? undefined,
  });
}

function toEventMessage(event: JobEvent): JobEventMessage {
  return JobEventMessage.fromPartial({
    id: event.id,
    jobId: event.jobId,
    attempt: event.attempt,
    fromState: event.fromState === null ? JobStateEnum.JOB_STATE_UNSPECIFIED : STATE_TO_PROTO[event.fromState],
    toState: STATE_TO_PROTO[event.toState],
    progress: event.progress ?? 0,
    message: event.message,
    workerId: event.workerId,
    createTime: event.createdAt,
  });
}

function toInput(request: EnqueueRequest, prefix: string): EnqueueInput {
  return {
    type: request.type,
    payload: request.payload,
    runAt: request.runAt,
    queue: queueOf(request.queue, `${prefix}queue`),
    idempotencyKey: request.idempotencyKey,
  };
}

/** Resolves after `ms`, or at once when `wake` is called or `signal` aborts. */
function waitForChange(ms: number, signal: AbortSignal, subscribe: (wake: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = subscribe(done);
    signal.addEventListener('abort', done);
  });
}

/** JobService over the jobs domain. */
export function createJobRpc(
  adapt: ServiceAdapter,
  jobs: Jobs,
  signals: JobSignals,
  watchPollIntervalMs: number,
): [typeof JobServiceService, JobServiceServer] {
  return [
    JobServiceService,
    adapt<JobServiceServer>(JobServiceService, {
      enqueue: async (request) => toJobMessage(await jobs.enqueue(toInput(request, ''))),
      batchEnqueue: async ({ requests }) => {
        const inputs = requests.map((request, index) => toInput(request, `requests[${index}].`));
        return BatchEnqueueResponse.fromPartial({ jobs: (await jobs.batchEnqueue(inputs)).map(toJobMessage) });
      },
      getJob: async ({ id }) => toJobMessage(await jobs.get(id)),
      listJobs: async (request) => {
        const page = await jobs.list({
          pageSize: request.pageSize,
          pageToken: request.pageToken,
          type: request.type,
          state: stateOf(request.state, 'state'),
        });
        return ListJobsResponse.fromPartial({ jobs: page.items.map(toJobMessage), nextPageToken: page.nextPageToken });
      },
      cancelJob: async ({ id }) => toJobMessage(await jobs.cancel(id)),
      retryJob: async ({ id }) => toJobMessage(await jobs.retry(id)),
      watchJob: async ({ id }, { signal }, send) => {
        let last: JobEvent | undefined;
        while (!signal.aborted) {
          const events = await jobs.eventsAfter(id, last?.id);
          for (const event of events) send(toEventMessage(event));
          last = events[events.length - 1] ?? last;
          if (events.length > 0) continue;
          // Caught up: the stream ends if the job is terminal now (a retried job goes on past its old end).
          if (last && last.fromState !== last.toState && isTerminal(last.toState)) return;
          await waitForChange(watchPollIntervalMs, signal, (wake) => signals.onJobChanged(id, wake));
        }
      },
      countJobs: async ({ type }) =>
        CountJobsResponse.fromPartial({
          counts: (await jobs.count(type)).map((entry) => ({
            type: entry.type,
            state: STATE_TO_PROTO[entry.state],
            count: String(entry.count),
          })),
        }),
      listJobEvents: async ({ jobId, pageSize, pageToken }) => {
        const page = await jobs.listEvents(jobId, pageSize, pageToken);
        return ListJobEventsResponse.fromPartial({
          events: page.items.map(toEventMessage),
          nextPageToken: page.nextPageToken,
        });
      },
    }),
  ];
}
