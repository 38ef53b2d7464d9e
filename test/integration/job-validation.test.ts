import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import type { Duration } from '../../proto/gen/google/protobuf/duration';
import { EnqueueRequest, JobState, type Job } from '../../proto/gen/tandem/v1/job';
import { BackoffKind, JobType, Queue } from '../../proto/gen/tandem/v1/job_type';
import { newId } from '../../services/data/src/domain/ids';
import { bearer, expectCode, expectInvalid } from '../support/grpc-client';
import { DIALECTS } from '../support/test-database';
import { startTestDataService, type TestDataService } from '../support/test-data-service';

const MAX_PAYLOAD_BYTES = 1024;
const MAX_RESULT_BYTES = 256;
const HOUR_MS = 3_600_000;
const WORKER_ID = 'validation-worker';
/** Enum values this version of the contract does not define, as a newer or broken client might send. */
const UNKNOWN_QUEUE = 9 as unknown as Queue;
const UNKNOWN_STATE = 42 as unknown as JobState;
const UNKNOWN_BACKOFF_KIND = 9 as unknown as BackoffKind;

function seconds(value: number): Duration {
  return { seconds: String(value), nanos: 0 };
}

function uniqueTypeName(prefix: string): string {
  return `${prefix}.${randomBytes(4).toString('hex')}`;
}

/** The state a rejected call must leave untouched. */
interface Snapshot {
  readonly totalJobs: number;
  readonly reference: Job;
  readonly jobTypes: readonly JobType[];
}

/** Collects a WatchJob stream: resolves when it ends, rejects with its error. */
function watch(service: TestDataService, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = service.jobClient.watchJob({ id }, { deadline: Date.now() + 10_000 });
    call.on('data', () => undefined);
    call.on('error', (error: ServiceError) => {
      reject(error);
    });
    call.on('end', () => {
      resolve();
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`job validation on ${dialect}`, () => {
    let service: TestDataService;
    let refType: string;
    /** A job this test runs as its own fake worker: RUNNING at attempt 1, stable for minutes. */
    let running: Job;
    /** A token of ListJobs over refType with page_size 1. */
    let pageToken: string;

    function enqueueRequest(overrides: Partial<EnqueueRequest> = {}): EnqueueRequest {
      return EnqueueRequest.fromPartial({ type: refType, payload: { n: 1 }, ...overrides });
    }

    function jobType(overrides: Partial<JobType> = {}): JobType {
      return JobType.fromPartial({ name: uniqueTypeName('validation.new'), ...overrides });
    }

    async function snapshot(): Promise<Snapshot> {
      const { counts } = await service.jobs.countJobs({ type: '' });
      const { jobTypes } = await service.jobTypes.listJobTypes({ pageSize: 100, pageToken: '' });
      return {
        totalJobs: counts.reduce((sum, entry) => sum + Number(entry.count), 0),
        reference: await service.jobs.getJob({ id: running.id }),
        jobTypes,
      };
    }

    before(async () => {
      service = await startTestDataService(dialect, {
        'jobs.maxPayloadBytes': MAX_PAYLOAD_BYTES,
        'jobs.maxResultBytes': MAX_RESULT_BYTES,
      });
      refType = uniqueTypeName('validation.ref');
      await service.jobTypes.createJobType({ jobType: JobType.fromPartial({ name: refType }) });
      const [first] = (
        await service.jobs.batchEnqueue({ requests: [enqueueRequest(), enqueueRequest(), enqueueRequest()] })
      ).jobs;
      assert.ok(first);
      const started = await service.worker.startAttempt({ jobId: first.id, attempt: 1, workerId: WORKER_ID });
      assert.ok(started.job);
      running = started.job;
      pageToken = (
        await service.jobs.listJobs({
          pageSize: 1,
          pageToken: '',
          type: refType,
          state: JobState.JOB_STATE_UNSPECIFIED,
        })
      ).nextPageToken;
      assert.notEqual(pageToken, '');
    });
    after(async () => {
      await service.destroy();
    });

    describe('every rejected call changes nothing', () => {
      let prior: Snapshot;
      beforeEach(async () => {
        prior = await snapshot();
      });
      afterEach(async function () {
        if (this.currentTest?.state !== 'passed') return;
        const now = await snapshot();
        assert.equal(now.totalJobs, prior.totalJobs, 'the number of jobs changed');
        assert.deepEqual(now.reference, prior.reference, 'the running reference job changed');
        assert.deepEqual(now.jobTypes, prior.jobTypes, 'the job types changed');
      });

      describe('Enqueue', () => {
        it('rejects an unknown type, naming type', async () => {
          assert.deepEqual(await expectInvalid(service.jobs.enqueue(enqueueRequest({ type: 'no.such.type' }))), [
            'type',
          ]);
        });

        it('rejects a malformed type name, naming type', async () => {
          for (const type of ['', 'Email.Send', 'email send', '1email', 'x'.repeat(64)]) {
            assert.deepEqual(await expectInvalid(service.jobs.enqueue(enqueueRequest({ type }))), ['type'], type);
          }
        });

        it('rejects a payload over the configured size, naming payload', async () => {
          const payload = { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) };

          assert.deepEqual(await expectInvalid(service.jobs.enqueue(enqueueRequest({ payload }))), ['payload']);
        });

        it('rejects a run_at an hour in the past or two years ahead, naming run_at', async () => {
          for (const runAt of [new Date(Date.now() - HOUR_MS), new Date(Date.now() + 2 * 365 * 24 * HOUR_MS)]) {
            assert.deepEqual(await expectInvalid(service.jobs.enqueue(enqueueRequest({ runAt }))), ['run_at']);
          }
        });

        it('rejects an idempotency key of 201 characters or with control characters, naming idempotency_key', async () => {
          for (const idempotencyKey of ['k'.repeat(201), 'line\nbreak', 'nul\u0000byte']) {
            assert.deepEqual(await expectInvalid(service.jobs.enqueue(enqueueRequest({ idempotencyKey }))), [
              'idempotency_key',
            ]);
          }
        });

        it('rejects an unknown queue value, naming queue', async () => {
          const request = enqueueRequest({ queue: UNKNOWN_QUEUE });

          assert.deepEqual(await expectInvalid(service.jobs.enqueue(request)), ['queue']);
        });

        it('lists every invalid field of one request', async () => {
          const request = enqueueRequest({
            type: 'Bad Type',
            payload: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) },
            runAt: new Date(Date.now() - HOUR_MS),
            idempotencyKey: 'k'.repeat(201),
          });

          assert.deepEqual((await expectInvalid(service.jobs.enqueue(request))).sort(), [
            'idempotency_key',
            'payload',
            'run_at',
            'type',
          ]);
        });
      });

      describe('BatchEnqueue', () => {
        it('rejects an empty batch and one of 501 jobs, naming requests', async () => {
          for (const size of [0, 501]) {
            const requests = Array.from({ length: size }, () => enqueueRequest());
            assert.deepEqual(await expectInvalid(service.jobs.batchEnqueue({ requests })), ['requests'], String(size));
          }
        });

        it('rejects the whole batch for one bad entry, naming it by index', async () => {
          const cases: Array<[number, Partial<EnqueueRequest>, string]> = [
            [2, { payload: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) } }, 'requests[2].payload'],
            [1, { type: 'no.such.type' }, 'requests[1].type'],
            [3, { runAt: new Date(Date.now() - HOUR_MS) }, 'requests[3].run_at'],
            [0, { queue: UNKNOWN_QUEUE }, 'requests[0].queue'],
            [4, { idempotencyKey: 'k'.repeat(201) }, 'requests[4].idempotency_key'],
          ];
          for (const [index, bad, field] of cases) {
            const requests = Array.from({ length: 5 }, (_unused, at) => enqueueRequest(at === index ? bad : {}));
            assert.deepEqual(await expectInvalid(service.jobs.batchEnqueue({ requests })), [field]);
          }
        });
      });

      describe('calls that name a job', () => {
        const malformedIds = ['abc', '', () => newId().toUpperCase()] as const;

        for (const [method, field] of [
          ['GetJob', 'id'],
          ['CancelJob', 'id'],
          ['RetryJob', 'id'],
          ['WatchJob', 'id'],
          ['ListJobEvents', 'job_id'],
        ] as const) {
          it(`${method} rejects a malformed or uppercase id, naming ${field}`, async () => {
            for (const make of malformedIds) {
              const id = typeof make === 'function' ? make() : make;
              const call =
                method === 'GetJob'
                  ? service.jobs.getJob({ id })
                  : method === 'CancelJob'
                    ? service.jobs.cancelJob({ id })
                    : method === 'RetryJob'
                      ? service.jobs.retryJob({ id })
                      : method === 'WatchJob'
                        ? watch(service, id)
                        : service.jobs.listJobEvents({ jobId: id, pageSize: 0, pageToken: '' });
              assert.deepEqual(await expectInvalid(call), [field], `id "${id}"`);
            }
          });
        }

        it('ListJobEvents rejects a negative page size and a foreign token', async () => {
          assert.deepEqual(
            await expectInvalid(service.jobs.listJobEvents({ jobId: running.id, pageSize: -1, pageToken: '' })),
            ['page_size'],
          );
          assert.deepEqual(
            await expectInvalid(service.jobs.listJobEvents({ jobId: running.id, pageSize: 0, pageToken })),
            ['page_token'],
          );
        });
      });

      describe('ListJobs and CountJobs', () => {
        const list = (overrides: { pageSize?: number; pageToken?: string; type?: string; state?: JobState }) =>
          service.jobs.listJobs({
            pageSize: overrides.pageSize ?? 0,
            pageToken: overrides.pageToken ?? '',
            type: overrides.type ?? refType,
            state: overrides.state ?? JobState.JOB_STATE_UNSPECIFIED,
          });

        it('rejects a negative page size, naming page_size', async () => {
          assert.deepEqual(await expectInvalid(list({ pageSize: -1 })), ['page_size']);
        });

        it('rejects a tampered token and a token of other filters, naming page_token', async () => {
          const [body = '', checksum = ''] = pageToken.split('.');
          const flipped = `${body.slice(0, -2)}${body.endsWith('A') ? 'B' : 'A'}${body.slice(-1)}`;
          for (const token of [`${flipped}.${checksum}`, `${body}.${checksum}x`, 'not-a-token', `${pageToken}.x`]) {
            assert.deepEqual(await expectInvalid(list({ pageToken: token })), ['page_token'], token);
          }
          assert.deepEqual(await expectInvalid(list({ pageToken, type: '' })), ['page_token']);
          assert.deepEqual(await expectInvalid(list({ pageToken, state: JobState.JOB_STATE_QUEUED })), ['page_token']);
        });

        it('rejects an unknown state value, naming state', async () => {
          assert.deepEqual(await expectInvalid(list({ state: UNKNOWN_STATE })), ['state']);
        });

        it('rejects a malformed type filter, naming type', async () => {
          assert.deepEqual(await expectInvalid(list({ type: 'Not A Type' })), ['type']);
          assert.deepEqual(await expectInvalid(service.jobs.countJobs({ type: 'Not A Type' })), ['type']);
        });
      });

      describe('JobTypeService', () => {
        it('CreateJobType rejects a missing job_type and a bad name', async () => {
          assert.deepEqual(await expectInvalid(service.jobTypes.createJobType({})), ['job_type']);
          for (const name of ['', 'Email.Send', 'email send', '.email', `a${'b'.repeat(63)}`]) {
            assert.deepEqual(
              await expectInvalid(service.jobTypes.createJobType({ jobType: jobType({ name }) })),
              ['job_type.name'],
              name,
            );
          }
        });

        it('CreateJobType rejects negative or huge attempts, naming max_attempts', async () => {
          for (const maxAttempts of [-1, 101, 2 ** 31 - 1]) {
            assert.deepEqual(
              await expectInvalid(service.jobTypes.createJobType({ jobType: jobType({ maxAttempts }) })),
              ['job_type.max_attempts'],
              String(maxAttempts),
            );
          }
        });

        it('CreateJobType rejects a timeout of 0, of 2 days or negative, naming timeout', async () => {
          for (const timeout of [seconds(0), seconds(2 * 24 * 3600), seconds(-5), { seconds: '1', nanos: -1 }]) {
            assert.deepEqual(
              await expectInvalid(service.jobTypes.createJobType({ jobType: jobType({ timeout }) })),
              ['job_type.timeout'],
              JSON.stringify(timeout),
            );
          }
        });

        it('CreateJobType rejects a backoff cap below its base and a jitter outside 0..1', async () => {
          const create = (backoff: NonNullable<JobType['backoff']>) =>
            service.jobTypes.createJobType({ jobType: jobType({ backoff }) });

          assert.deepEqual(
            await expectInvalid(
              create({ kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED, base: seconds(10), cap: seconds(5), jitter: 0 }),
            ),
            ['job_type.backoff.cap'],
          );
          for (const jitter of [1.5, -0.1]) {
            assert.deepEqual(await expectInvalid(create({ kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED, jitter })), [
              'job_type.backoff.jitter',
            ]);
          }
          assert.deepEqual(await expectInvalid(create({ kind: UNKNOWN_BACKOFF_KIND, jitter: 0 })), [
            'job_type.backoff.kind',
          ]);
          assert.deepEqual(
            await expectInvalid(
              create({ kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED, base: { seconds: '0', nanos: 0 }, jitter: 0 }),
            ),
            ['job_type.backoff.base'],
          );
        });

        it('CreateJobType rejects a retention of 10 s and an unknown queue', async () => {
          assert.deepEqual(
            await expectInvalid(service.jobTypes.createJobType({ jobType: jobType({ retention: seconds(10) }) })),
            ['job_type.retention'],
          );
          assert.deepEqual(
            await expectInvalid(service.jobTypes.createJobType({ jobType: jobType({ queue: UNKNOWN_QUEUE }) })),
            ['job_type.queue'],
          );
        });

        it('CreateJobType lists every invalid field at once', async () => {
          const invalid = jobType({
            maxAttempts: 101,
            backoff: { kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED, jitter: 1.5 },
            timeout: seconds(0),
            retention: seconds(10),
          });

          assert.deepEqual((await expectInvalid(service.jobTypes.createJobType({ jobType: invalid }))).sort(), [
            'job_type.backoff.jitter',
            'job_type.max_attempts',
            'job_type.retention',
            'job_type.timeout',
          ]);
        });

        it('GetJobType rejects a malformed name, and ListJobTypes a negative size or a bad token', async () => {
          assert.deepEqual(await expectInvalid(service.jobTypes.getJobType({ name: 'Bad Name' })), ['name']);
          assert.deepEqual(await expectInvalid(service.jobTypes.listJobTypes({ pageSize: -1, pageToken: '' })), [
            'page_size',
          ]);
          assert.deepEqual(await expectInvalid(service.jobTypes.listJobTypes({ pageSize: 1, pageToken })), [
            'page_token',
          ]);
        });

        it('UpdateJobType rejects an unknown mask path, naming update_mask', async () => {
          const request = { jobType: jobType({ name: refType, maxAttempts: 3 }), updateMask: ['priority'] };

          assert.deepEqual(await expectInvalid(service.jobTypes.updateJobType(request)), ['update_mask']);
        });

        it('UpdateJobType rejects out-of-range values through the mask, including max_attempts 0', async () => {
          const cases: Array<[Partial<JobType>, string, string]> = [
            [{ maxAttempts: 0 }, 'max_attempts', 'job_type.max_attempts'],
            [{ maxAttempts: -1 }, 'max_attempts', 'job_type.max_attempts'],
            [{ retention: seconds(10) }, 'retention', 'job_type.retention'],
            [{ timeout: seconds(2 * 24 * 3600) }, 'timeout', 'job_type.timeout'],
            [
              { backoff: { kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED, jitter: 1.5 } },
              'backoff.jitter',
              'job_type.backoff.jitter',
            ],
            [
              {
                backoff: {
                  kind: BackoffKind.BACKOFF_KIND_UNSPECIFIED,
                  cap: { seconds: '0', nanos: 1_000_000 },
                  jitter: 0,
                },
              },
              'backoff.cap',
              'job_type.backoff.cap',
            ],
          ];
          for (const [fields, path, field] of cases) {
            const request = { jobType: jobType({ name: refType, ...fields }), updateMask: [path] };
            assert.deepEqual(await expectInvalid(service.jobTypes.updateJobType(request)), [field], path);
          }
        });

        it('UpdateJobType rejects a missing job_type and a malformed name', async () => {
          assert.deepEqual(await expectInvalid(service.jobTypes.updateJobType({ updateMask: ['paused'] })), [
            'job_type',
          ]);
          assert.deepEqual(
            await expectInvalid(service.jobTypes.updateJobType({ jobType: jobType({ name: 'Bad' }), updateMask: [] })),
            ['job_type.name'],
          );
        });
      });

      describe('WorkerService', () => {
        const report = () => ({ jobId: running.id, attempt: 1, workerId: WORKER_ID });

        it('StartAttempt rejects attempt 0 or -1, an empty or long worker_id and a bad job id', async () => {
          const cases: Array<[Partial<ReturnType<typeof report>>, string]> = [
            [{ attempt: 0 }, 'attempt'],
            [{ attempt: -1 }, 'attempt'],
            [{ workerId: '' }, 'worker_id'],
            [{ workerId: 'w'.repeat(129) }, 'worker_id'],
            [{ workerId: 'w\u0000x' }, 'worker_id'],
            [{ workerId: 'w\nx' }, 'worker_id'],
            [{ jobId: 'abc' }, 'job_id'],
            [{ jobId: running.id.toUpperCase() }, 'job_id'],
          ];
          for (const [change, field] of cases) {
            assert.deepEqual(
              await expectInvalid(service.worker.startAttempt({ ...report(), attempt: 2, ...change })),
              [field],
              JSON.stringify(change),
            );
          }
        });

        it('ReportProgress rejects progress 101 and -1 and a 501-character message', async () => {
          const cases: Array<[number, string, string]> = [
            [101, '', 'progress'],
            [-1, '', 'progress'],
            [50, 'm'.repeat(501), 'message'],
          ];
          for (const [progress, message, field] of cases) {
            assert.deepEqual(
              await expectInvalid(service.worker.reportProgress({ ...report(), progress, message })),
              [field],
              `${progress} ${message.length}`,
            );
          }
        });

        it('CompleteAttempt rejects a result over the configured size, naming result', async () => {
          const result = { blob: 'x'.repeat(MAX_RESULT_BYTES) };

          assert.deepEqual(await expectInvalid(service.worker.completeAttempt({ ...report(), result })), ['result']);
        });

        it('FailAttempt rejects attempt 0 and an empty worker_id', async () => {
          const failure = { error: 'boom', retryable: true, released: false };

          assert.deepEqual(await expectInvalid(service.worker.failAttempt({ ...report(), ...failure, attempt: 0 })), [
            'attempt',
          ]);
          assert.deepEqual(await expectInvalid(service.worker.failAttempt({ ...report(), ...failure, workerId: '' })), [
            'worker_id',
          ]);
        });
      });

      describe('conflicts', () => {
        let taken: string;
        let staleEtag: string;
        before(async () => {
          taken = uniqueTypeName('validation.taken');
          const created = await service.jobTypes.createJobType({ jobType: JobType.fromPartial({ name: taken }) });
          staleEtag = created.etag;
          const updated = await service.jobTypes.updateJobType({
            jobType: JobType.fromPartial({ name: taken, maxAttempts: 7, etag: created.etag }),
            updateMask: ['max_attempts'],
          });
          assert.notEqual(updated.etag, staleEtag);
        });

        it('CreateJobType of a taken name is ALREADY_EXISTS', async () => {
          await expectCode(
            service.jobTypes.createJobType({ jobType: JobType.fromPartial({ name: taken }) }),
            Code.ALREADY_EXISTS,
          );
        });

        it('GetJobType and UpdateJobType of a missing name are NOT_FOUND', async () => {
          const missing = uniqueTypeName('validation.missing');

          await expectCode(service.jobTypes.getJobType({ name: missing }), Code.NOT_FOUND);
          await expectCode(
            service.jobTypes.updateJobType({ jobType: JobType.fromPartial({ name: missing }), updateMask: ['paused'] }),
            Code.NOT_FOUND,
          );
        });

        it('UpdateJobType with a stale etag is ABORTED', async () => {
          await expectCode(
            service.jobTypes.updateJobType({
              jobType: JobType.fromPartial({ name: taken, maxAttempts: 9, etag: staleEtag }),
              updateMask: ['max_attempts'],
            }),
            Code.ABORTED,
          );
        });

        it('calls on a well-formed id that does not exist are NOT_FOUND', async () => {
          const id = newId();

          await expectCode(service.jobs.getJob({ id }), Code.NOT_FOUND);
          await expectCode(service.jobs.cancelJob({ id }), Code.NOT_FOUND);
          await expectCode(service.jobs.retryJob({ id }), Code.NOT_FOUND);
          await expectCode(watch(service, id), Code.NOT_FOUND);
          await expectCode(service.jobs.listJobEvents({ jobId: id, pageSize: 0, pageToken: '' }), Code.NOT_FOUND);
          await expectCode(service.worker.startAttempt({ jobId: id, attempt: 1, workerId: WORKER_ID }), Code.NOT_FOUND);
        });
      });
    });

    it('stores a NUL in a progress message or an error as U+FFFD instead of failing with INTERNAL', async () => {
      const job = await service.jobs.enqueue(enqueueRequest());
      await service.worker.startAttempt({ jobId: job.id, attempt: 1, workerId: WORKER_ID });
      const failure = {
        jobId: job.id,
        attempt: 1,
        workerId: WORKER_ID,
        error: 'e\u0000rr',
        retryable: true,
        released: false,
      };

      await service.worker.reportProgress({
        jobId: job.id,
        attempt: 1,
        workerId: WORKER_ID,
        progress: 5,
        message: 'a\u0000b',
      });
      assert.equal((await service.jobs.getJob({ id: job.id })).progressMessage, 'a\uFFFDb');
      const failed = await service.worker.failAttempt(failure);
      const again = await service.worker.failAttempt(failure);

      assert.equal(failed.lastError, 'e\uFFFDrr');
      assert.equal(failed.state, JobState.JOB_STATE_RETRYING);
      assert.equal(again.failedAttempts, 1, 'a retried report of the same failure must count once');
    });

    it('CreateJobType with max_attempts 0 takes the default of 5: proto3 cannot tell 0 from unset', async () => {
      const created = await service.jobTypes.createJobType({ jobType: jobType({ maxAttempts: 0 }) });

      assert.equal(created.maxAttempts, 5);
    });
  });
}

describe('job validation with auth on', () => {
  const clientToken = 'c'.repeat(16);
  const workerToken = 'w'.repeat(16);
  let service: TestDataService;
  before(async () => {
    service = await startTestDataService('sqlite', {
      'auth.clientTokens': [clientToken],
      'auth.workerTokens': [workerToken],
    });
  });
  after(async () => {
    await service.destroy();
  });

  it('refuses every WorkerService call made with a client token with PERMISSION_DENIED', async () => {
    const report = { jobId: newId(), attempt: 1, workerId: WORKER_ID };
    const asClient = bearer(clientToken);

    await expectCode(service.worker.startAttempt(report, asClient), Code.PERMISSION_DENIED);
    await expectCode(
      service.worker.reportProgress({ ...report, progress: 1, message: '' }, asClient),
      Code.PERMISSION_DENIED,
    );
    await expectCode(service.worker.completeAttempt({ ...report, result: {} }, asClient), Code.PERMISSION_DENIED);
    await expectCode(
      service.worker.failAttempt({ ...report, error: 'x', retryable: true, released: false }, asClient),
      Code.PERMISSION_DENIED,
    );
  });

  it('refuses a client token before looking at the request: even malformed input is PERMISSION_DENIED', async () => {
    await expectCode(
      service.worker.startAttempt({ jobId: 'abc', attempt: 0, workerId: '' }, bearer(clientToken)),
      Code.PERMISSION_DENIED,
    );
  });

  it('validates a worker token call like any other: malformed input is INVALID_ARGUMENT', async () => {
    assert.deepEqual(
      (
        await expectInvalid(
          service.worker.startAttempt({ jobId: 'abc', attempt: 0, workerId: '' }, bearer(workerToken)),
        )
      ).sort(),
      ['attempt', 'job_id', 'worker_id'],
    );
  });
});
