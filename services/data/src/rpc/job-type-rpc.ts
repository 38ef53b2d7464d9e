import {
  BackoffKind,
  JobType as JobTypeMessage,
  ListJobTypesResponse,
  type JobTypeServiceServer,
  JobTypeServiceService,
} from '../../../../proto/gen/tandem/v1/job_type';
import type { BackoffPolicy } from '../domain/backoff';
import type { JobType, JobTypeChanges, JobTypes } from '../domain/job-types';
import { invalid, Violations } from '../domain/violations';
import { fromMs, toMs } from './duration';
import { resolveMask } from './field-mask';
import { QUEUE_TO_PROTO, queueOf } from './queue-enum';
import type { ServiceAdapter } from './service-adapter';

const JOB_TYPE_MASK = {
  mutable: [
    'queue',
    'max_attempts',
    'backoff',
    'backoff.kind',
    'backoff.base',
    'backoff.cap',
    'backoff.jitter',
    'timeout',
    'retention',
    'paused',
  ],
  ignored: ['name', 'create_time', 'update_time', 'etag'],
};

function toMessage(type: JobType): JobTypeMessage {
  return JobTypeMessage.fromPartial({
    name: type.name,
    queue: QUEUE_TO_PROTO[type.queue],
    maxAttempts: type.maxAttempts,
    backoff: {
      kind: type.backoff.kind === 'fixed' ? BackoffKind.BACKOFF_KIND_FIXED : BackoffKind.BACKOFF_KIND_EXPONENTIAL,
      base: fromMs(type.backoff.baseMs),
      cap: fromMs(type.backoff.capMs),
      jitter: type.backoff.jitter,
    },
    timeout: fromMs(type.timeoutMs),
    retention: fromMs(type.retentionMs),
    paused: type.paused,
    createTime: type.createdAt,
    updateTime: type.updatedAt,
    etag: type.etag,
  });
}

function kindOf(kind: BackoffKind): BackoffPolicy['kind'] | undefined {
  if (kind === BackoffKind.BACKOFF_KIND_UNSPECIFIED) return undefined;
  if (kind === BackoffKind.BACKOFF_KIND_FIXED) return 'fixed';
  if (kind === BackoffKind.BACKOFF_KIND_EXPONENTIAL) return 'exponential';
  return invalid('job_type.backoff.kind', 'must be BACKOFF_KIND_FIXED or BACKOFF_KIND_EXPONENTIAL');
}

/** The settings a message sets; with `only`, just those paths (an update mask). */
function changesOf(message: JobTypeMessage, only?: ReadonlySet<string>): JobTypeChanges {
  const wants = (path: string): boolean =>
    only === undefined || only.has(path) || (path.startsWith('backoff.') && only.has('backoff'));
  const kind = wants('backoff.kind')
    ? kindOf(message.backoff?.kind ?? BackoffKind.BACKOFF_KIND_UNSPECIFIED)
    : undefined;
  const backoff: Partial<BackoffPolicy> = {
    ...(kind === undefined ? {} : { kind }),
    ...(wants('backoff.base') && message.backoff?.base
      ? { baseMs: toMs(message.backoff.base, 'job_type.backoff.base') }
      : {}),
    ...(wants('backoff.cap') && message.backoff?.cap
      ? { capMs: toMs(message.backoff.cap, 'job_type.backoff.cap') }
      : {}),
    ...(wants('backoff.jitter') && message.backoff ? { jitter: message.backoff.jitter } : {}),
  };
  return {
    ...(wants('queue') ? { queue: queueOf(message.queue, 'job_type.queue') } : {}),
    ...(wants('max_attempts') && (only !== undefined || message.maxAttempts !== 0)
      ? { maxAttempts: message.maxAttempts }
      : {}),
    ...(Object.keys(backoff).length > 0 ? { backoff } : {}),
    ...(wants('timeout') && message.timeout ? { timeoutMs: toMs(message.timeout, 'job_type.timeout') } : {}),
    ...(wants('retention') && message.retention ? { retentionMs: toMs(message.retention, 'job_type.retention') } : {}),
    ...(wants('paused') && (only !== undefined || message.paused) ? { paused: message.paused } : {}),
  };
}

/** JobTypeService over the job types domain. */
export function createJobTypeRpc(
  adapt: ServiceAdapter,
  jobTypes: JobTypes,
): [typeof JobTypeServiceService, JobTypeServiceServer] {
  return [
    JobTypeServiceService,
    adapt<JobTypeServiceServer>(JobTypeServiceService, {
      createJobType: async ({ jobType }) => {
        if (!jobType) return invalid('job_type', 'is required');
        return toMessage(await jobTypes.create(jobType.name, changesOf(jobType)));
      },
      getJobType: async ({ name }) => toMessage(await jobTypes.get(name)),
      listJobTypes: async ({ pageSize, pageToken }) => {
        const page = await jobTypes.list(pageSize, pageToken);
        return ListJobTypesResponse.fromPartial({
          jobTypes: page.items.map(toMessage),
          nextPageToken: page.nextPageToken,
        });
      },
      updateJobType: async ({ jobType, updateMask }) => {
        if (!jobType) return invalid('job_type', 'is required');
        const paths = updateMask ?? [];
        const violations = new Violations();
        const mask = paths.length === 0 ? undefined : resolveMask(paths, JOB_TYPE_MASK, () => true, violations);
        violations.throwIfAny();
        return toMessage(await jobTypes.update(jobType.name, jobType.etag, changesOf(jobType, mask)));
      },
    }),
  ];
}
