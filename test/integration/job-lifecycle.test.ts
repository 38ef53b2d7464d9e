import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { z } from 'zod';
import {
  EnqueueRequest,
  JobState,
  ListJobsRequest,
  type Job,
  type JobCount,
  type JobEvent,
} from '../../proto/gen/tandem/v1/job';
import { BackoffKind, JobType } from '../../proto/gen/tandem/v1/job_type';
import { openDatabase } from '../../services/data/src/store/database';
import { defineJobHandler, NonRetryableError, type JobHandler } from '../../services/worker/src/job-handler';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { expectCode, expectInvalid } from '../support/grpc-client';
import { DIALECTS } from '../support/test-database';
import { startTestDataService, type TestDataService } from '../support/test-data-service';
import { startTestWorker } from '../support/test-worker';

const WAIT_MS = 15_000;
const POLL_MS = 25;
const TEST_WORKER_ID = 'lifecycle-test-worker';
const ANY_PAYLOAD = z.object({}).passthrough();

function ms(value: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(value / 1000)), nanos: (value % 1000) * 1_000_000 };
}

/** A job type name no other test uses. */
function uniqueType(role: string): string {
  return `lc.${role}-${randomBytes(4).toString('hex')}`;
}

interface TypeSettings {
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
  readonly retentionMs?: number;
  readonly paused?: boolean;
}

/** Polls `read` until `done` holds; fails with the last value after `timeoutMs`. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await delay(POLL_MS);
  }
}

/** A handler that records when it started each job. */
function recordingHandler(
  type: string,
  run: (context: { jobId: string; attempt: number; signal: AbortSignal }) => Promise<Record<string, unknown>> = () =>
    Promise.resolve({ ok: true }),
) {
  const calls: Array<{ jobId: string; attempt: number; at: number }> = [];
  const handler = defineJobHandler({
    type,
    payload: ANY_PAYLOAD,
    run: (context) => {
      calls.push({ jobId: context.jobId, attempt: context.attempt, at: Date.now() });
      return run(context);
    },
  });
  return { handler, calls };
}

/** Resolves with the reason once `signal` aborts; never resolves otherwise. */
function abortOf(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

function transitions(events: readonly JobEvent[]): Array<[JobState, JobState]> {
  return events.map((event) => [event.fromState, event.toState]);
}

function countsOf(counts: readonly JobCount[]): Record<string, string> {
  return Object.fromEntries(counts.map((entry) => [JobState[entry.state], entry.count]));
}

for (const dialect of DIALECTS) {
  describe(`job lifecycle on ${dialect}`, () => {
    let service: TestDataService;
    const workers: WorkerService[] = [];

    before(async () => {
      service = await startTestDataService(dialect);
    });
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    });
    after(async () => {
      await service.destroy();
    });

    async function startWorker(...handlers: JobHandler[]): Promise<WorkerService> {
      const worker = await startTestWorker(service, handlers);
      workers.push(worker);
      return worker;
    }

    async function createType(role: string, settings: TypeSettings = {}): Promise<string> {
      const name = uniqueType(role);
      const backoffMs = settings.backoffMs ?? 50;
      await service.jobTypes.createJobType({
        jobType: JobType.fromPartial({
          name,
          maxAttempts: settings.maxAttempts ?? 3,
          backoff: {
            kind: BackoffKind.BACKOFF_KIND_FIXED,
            base: ms(backoffMs),
            cap: ms(Math.max(backoffMs, 1000)),
            jitter: 0,
          },
          timeout: ms(settings.timeoutMs ?? 1000),
          ...(settings.retentionMs === undefined ? {} : { retention: ms(settings.retentionMs) }),
          paused: settings.paused ?? false,
        }),
      });
      return name;
    }

    async function setPaused(type: string, paused: boolean): Promise<void> {
      const updated = await service.jobTypes.updateJobType({
        jobType: JobType.fromPartial({ name: type, paused }),
        updateMask: ['paused'],
      });
      assert.equal(updated.paused, paused);
    }

    function enqueue(type: string, fields: Partial<EnqueueRequest> = {}): Promise<Job> {
      return service.jobs.enqueue(EnqueueRequest.fromPartial({ type, ...fields }));
    }

    function getJob(id: string): Promise<Job> {
      return service.jobs.getJob({ id });
    }

    /** Waits until the job is in `state`; fails at once if it ends in another final state. */
    function waitForState(id: string, state: JobState): Promise<Job> {
      const finals = [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_DEAD, JobState.JOB_STATE_CANCELLED];
      return eventually(
        () => getJob(id),
        (job) => {
          if (job.state !== state && finals.includes(job.state)) {
            throw new Error(`job ${id} ended ${JobState[job.state]} instead of ${JobState[state]}: ${job.lastError}`);
          }
          return job.state === state;
        },
        `job ${id} to be ${JobState[state]}`,
      );
    }

    async function eventsOf(jobId: string): Promise<JobEvent[]> {
      return (await service.jobs.listJobEvents({ jobId, pageSize: 100, pageToken: '' })).events;
    }

    /** Every event WatchJob streams, once the stream has ended on its own. */
    function watchToEnd(id: string): Promise<JobEvent[]> {
      return new Promise((resolve, reject) => {
        const events: JobEvent[] = [];
        const stream = service.jobClient.watchJob({ id }, { deadline: Date.now() + WAIT_MS });
        stream.on('data', (event: JobEvent) => events.push(event));
        stream.on('error', (error: ServiceError) => reject(error));
        stream.on('end', () => resolve(events));
      });
    }

    describe('a job that succeeds', () => {
      it('when a handler returns, then the job is succeeded with its result and every read API shows it', async () => {
        const type = await createType('ok');
        const worker = await startWorker(
          defineJobHandler({
            type,
            payload: z.object({ n: z.number() }),
            run: async ({ payload, progress }) => {
              await progress(50, 'halfway');
              return { doubled: payload.n * 2 };
            },
          }),
        );

        const accepted = await enqueue(type, { payload: { n: 21 } });
        const watched = await watchToEnd(accepted.id);

        assert.equal(accepted.state, JobState.JOB_STATE_PENDING);
        assert.equal(accepted.attempt, 0);
        const job = await getJob(accepted.id);
        assert.equal(job.state, JobState.JOB_STATE_SUCCEEDED);
        assert.deepEqual(job.result, { doubled: 42 });
        assert.deepEqual(job.payload, { n: 21 });
        assert.equal(job.attempt, 1);
        assert.equal(job.failedAttempts, 0);
        assert.equal(job.progress, 100);
        assert.equal(job.workerId, worker.workerId);
        assert.ok(job.finishTime, 'a finished job has a finish_time');

        const events = await eventsOf(job.id);
        assert.deepEqual(transitions(events), [
          [JobState.JOB_STATE_UNSPECIFIED, JobState.JOB_STATE_PENDING],
          [JobState.JOB_STATE_PENDING, JobState.JOB_STATE_QUEUED],
          [JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING],
          [JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_RUNNING],
          [JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_SUCCEEDED],
        ]);
        assert.deepEqual(
          events.map((event) => [event.attempt, event.workerId]),
          [
            [0, ''],
            [0, ''],
            [1, worker.workerId],
            [1, worker.workerId],
            [1, worker.workerId],
          ],
          'each event names its attempt (0 before the first start) and the worker that reported it',
        );
        const progressed = events.find((event) => event.fromState === JobState.JOB_STATE_RUNNING);
        assert.deepEqual([progressed?.progress, progressed?.message], [50, 'halfway']);
        assert.deepEqual(
          watched.map((event) => event.id),
          events.map((event) => event.id),
          'WatchJob streams the whole audit trail, from pending to succeeded, and ends',
        );
      });

      it('when several jobs of a type exist, then ListJobs filters by type and state newest first in pages and CountJobs counts them', async () => {
        const type = await createType('list');
        await startWorker(recordingHandler(type).handler);
        const done: Job[] = [];
        for (let index = 0; index < 3; index += 1) {
          const job = await enqueue(type, { payload: { index } });
          done.push(await waitForState(job.id, JobState.JOB_STATE_SUCCEEDED));
        }
        const later = await enqueue(type, { runAt: new Date(Date.now() + 10 * 60_000) });

        const first = await service.jobs.listJobs(
          ListJobsRequest.fromPartial({ type, state: JobState.JOB_STATE_SUCCEEDED, pageSize: 2 }),
        );
        const second = await service.jobs.listJobs(
          ListJobsRequest.fromPartial({
            type,
            state: JobState.JOB_STATE_SUCCEEDED,
            pageSize: 2,
            pageToken: first.nextPageToken,
          }),
        );
        const pending = await service.jobs.listJobs(
          ListJobsRequest.fromPartial({ type, state: JobState.JOB_STATE_PENDING }),
        );
        const all = await service.jobs.listJobs(ListJobsRequest.fromPartial({ type }));
        const counts = await service.jobs.countJobs({ type });

        const [oldest, middle, newest] = done.map((job) => job.id);
        assert.deepEqual(
          first.jobs.map((job) => job.id),
          [newest, middle],
        );
        assert.notEqual(first.nextPageToken, '');
        assert.deepEqual(
          second.jobs.map((job) => job.id),
          [oldest],
        );
        assert.equal(second.nextPageToken, '');
        assert.deepEqual(
          pending.jobs.map((job) => job.id),
          [later.id],
        );
        assert.deepEqual(
          all.jobs.map((job) => job.id),
          [later.id, newest, middle, oldest],
        );
        assert.ok(counts.counts.every((entry) => entry.type === type));
        assert.deepEqual(countsOf(counts.counts), { JOB_STATE_PENDING: '1', JOB_STATE_SUCCEEDED: '3' });
      });
    });

    describe('idempotent and batch enqueue', () => {
      it('when 20 Enqueues with one key race, then exactly one job exists and every answer names it', async () => {
        const type = await createType('idem', { paused: true });

        const answers = await Promise.all(
          Array.from({ length: 20 }, () => enqueue(type, { idempotencyKey: 'order-42', payload: { order: 42 } })),
        );

        const ids = new Set(answers.map((job) => job.id));
        assert.equal(ids.size, 1, `one id for every answer, got ${[...ids].join(', ')}`);
        const listed = await service.jobs.listJobs(ListJobsRequest.fromPartial({ type }));
        assert.deepEqual(
          listed.jobs.map((job) => job.id),
          [...ids],
        );
        assert.equal(listed.jobs[0]?.idempotencyKey, 'order-42');
      });

      it('when BatchEnqueue gets 3 jobs, then it answers 3 jobs in the order asked', async () => {
        const type = await createType('batch', { paused: true });

        const { jobs } = await service.jobs.batchEnqueue({
          requests: [0, 1, 2].map((index) => EnqueueRequest.fromPartial({ type, payload: { index } })),
        });

        assert.deepEqual(
          jobs.map((job) => job.payload),
          [{ index: 0 }, { index: 1 }, { index: 2 }],
        );
        assert.ok(jobs.every((job) => job.type === type && job.state === JobState.JOB_STATE_PENDING));
        assert.equal(new Set(jobs.map((job) => job.id)).size, 3);
        const listed = await service.jobs.listJobs(ListJobsRequest.fromPartial({ type }));
        assert.equal(listed.jobs.length, 3);
      });

      it('when one entry of a BatchEnqueue names an unknown type, then it fails with INVALID_ARGUMENT on requests[i].type and creates none', async () => {
        const type = await createType('batch-bad', { paused: true });
        await enqueue(type);
        const before = countsOf((await service.jobs.countJobs({ type })).counts);

        const fields = await expectInvalid(
          service.jobs.batchEnqueue({
            requests: [
              EnqueueRequest.fromPartial({ type }),
              EnqueueRequest.fromPartial({ type: uniqueType('missing') }),
              EnqueueRequest.fromPartial({ type }),
            ],
          }),
        );

        assert.deepEqual(fields, ['requests[1].type']);
        assert.deepEqual(countsOf((await service.jobs.countJobs({ type })).counts), before);
        assert.deepEqual(before, { JOB_STATE_PENDING: '1' });
      });
    });

    describe('retries', () => {
      it('when a handler always throws, then the job is retried after the fixed backoff, dies, and RetryJob revives it', async () => {
        const backoffMs = 300;
        const type = await createType('fail', { maxAttempts: 3, backoffMs });
        let healed = false;
        const { handler, calls } = recordingHandler(type, () =>
          healed ? Promise.resolve({ healed: true }) : Promise.reject(new Error('the printer is on fire')),
        );
        await startWorker(handler);

        const { id } = await enqueue(type);
        const dead = await waitForState(id, JobState.JOB_STATE_DEAD);

        assert.equal(dead.failedAttempts, 3);
        assert.equal(dead.attempt, 3);
        assert.equal(dead.lastError, 'Error: the printer is on fire');
        assert.ok(dead.finishTime);
        assert.deepEqual(
          calls.map((call) => call.attempt),
          [1, 2, 3],
        );
        const events = await eventsOf(id);
        const starts = events.filter((event) => event.toState === JobState.JOB_STATE_RUNNING);
        assert.deepEqual(
          starts.map((event) => event.attempt),
          [1, 2, 3],
        );
        for (let index = 1; index < starts.length; index += 1) {
          const gap = starts[index]!.createTime!.getTime() - starts[index - 1]!.createTime!.getTime();
          assert.ok(gap >= backoffMs, `attempt ${index + 1} started ${gap} ms after attempt ${index}`);
        }
        const failures = events.filter((event) => event.fromState === JobState.JOB_STATE_RUNNING);
        assert.deepEqual(
          failures.map((event) => [event.toState, event.message]),
          [
            [JobState.JOB_STATE_RETRYING, 'Error: the printer is on fire'],
            [JobState.JOB_STATE_RETRYING, 'Error: the printer is on fire'],
            [JobState.JOB_STATE_DEAD, 'Error: the printer is on fire'],
          ],
        );

        await setPaused(type, true);
        const revived = await service.jobs.retryJob({ id });
        assert.equal(revived.state, JobState.JOB_STATE_PENDING);
        assert.equal(revived.failedAttempts, 0);
        assert.equal(revived.maxAttempts, 3);
        assert.equal(revived.finishTime, undefined);
        healed = true;
        await setPaused(type, false);
        const succeeded = await waitForState(id, JobState.JOB_STATE_SUCCEEDED);

        assert.deepEqual(succeeded.result, { healed: true });
        assert.equal(succeeded.attempt, 4);
        assert.equal(succeeded.failedAttempts, 0);
        const history = transitions(await eventsOf(id));
        assert.ok(
          history.some(([from, to]) => from === JobState.JOB_STATE_DEAD && to === JobState.JOB_STATE_PENDING),
          'the revival is in the audit trail',
        );
        assert.equal(history.filter(([, to]) => to === JobState.JOB_STATE_RUNNING).length, 4, 'history is kept');
      });

      it('when a handler throws NonRetryableError, then the job is dead after one attempt', async () => {
        const type = await createType('permanent', { maxAttempts: 5 });
        const { handler, calls } = recordingHandler(type, () =>
          Promise.reject(new NonRetryableError('the address does not exist')),
        );
        await startWorker(handler);

        const { id } = await enqueue(type);
        const dead = await waitForState(id, JobState.JOB_STATE_DEAD);

        assert.equal(dead.attempt, 1);
        assert.equal(dead.failedAttempts, 1);
        assert.equal(dead.lastError, 'NonRetryableError: the address does not exist');
        assert.equal(calls.length, 1);
      });

      it('when RetryJob is asked for a succeeded job, then it fails with FAILED_PRECONDITION', async () => {
        const type = await createType('retry-done');
        await startWorker(recordingHandler(type).handler);
        const { id } = await enqueue(type);
        await waitForState(id, JobState.JOB_STATE_SUCCEEDED);

        await expectCode(service.jobs.retryJob({ id }), Code.FAILED_PRECONDITION);

        assert.equal((await getJob(id)).state, JobState.JOB_STATE_SUCCEEDED);
      });
    });

    describe('cancellation', () => {
      it('when a job waiting for dispatch is cancelled, then it is cancelled at once and its handler never runs', async () => {
        const type = await createType('cancel-wait', { paused: true });
        const { id } = await enqueue(type);

        const cancelled = await service.jobs.cancelJob({ id });

        assert.equal(cancelled.state, JobState.JOB_STATE_CANCELLED);
        assert.ok(cancelled.finishTime);
        const { handler, calls } = recordingHandler(type);
        await startWorker(handler);
        await setPaused(type, false);
        const control = await enqueue(type);
        await waitForState(control.id, JobState.JOB_STATE_SUCCEEDED);
        assert.deepEqual(
          calls.map((call) => call.jobId),
          [control.id],
        );
        assert.equal((await getJob(id)).state, JobState.JOB_STATE_CANCELLED);
      });

      it('when a running job is cancelled, then its handler signal aborts and the job ends cancelled', async () => {
        const type = await createType('cancel-run', { timeoutMs: 3000 });
        const reasons: unknown[] = [];
        const { handler } = recordingHandler(type, async ({ signal }) => {
          reasons.push(await abortOf(signal));
          throw signal.reason;
        });
        await startWorker(handler);
        const { id } = await enqueue(type);
        await waitForState(id, JobState.JOB_STATE_RUNNING);

        const requested = await service.jobs.cancelJob({ id });
        const cancelled = await waitForState(id, JobState.JOB_STATE_CANCELLED);

        assert.equal(requested.state, JobState.JOB_STATE_RUNNING);
        assert.equal(requested.cancelRequested, true);
        assert.equal(reasons.length, 1);
        assert.match(String(reasons[0]), /cancelled/);
        assert.equal(cancelled.cancelRequested, true);
        assert.equal(cancelled.failedAttempts, 0);
        assert.ok(cancelled.finishTime);
        assert.deepEqual(transitions(await eventsOf(id)).slice(-2), [
          [JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_RUNNING],
          [JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_CANCELLED],
        ]);
      });

      it('when a succeeded job is cancelled, then CancelJob fails with FAILED_PRECONDITION', async () => {
        const type = await createType('cancel-done');
        await startWorker(recordingHandler(type).handler);
        const { id } = await enqueue(type);
        await waitForState(id, JobState.JOB_STATE_SUCCEEDED);

        await expectCode(service.jobs.cancelJob({ id }), Code.FAILED_PRECONDITION);

        assert.equal((await getJob(id)).state, JobState.JOB_STATE_SUCCEEDED);
      });
    });

    describe('timeouts', () => {
      it('when a handler outlives its type timeout, then its signal aborts and the attempt fails as timed out', async () => {
        const timeoutMs = 1000;
        const type = await createType('slow', { maxAttempts: 2, timeoutMs, backoffMs: 50 });
        const aborts: Array<{ attempt: number; afterMs: number; reason: unknown }> = [];
        const { handler } = recordingHandler(type, async ({ attempt, signal }) => {
          const started = performance.now();
          const reason = await Promise.race([abortOf(signal), delay(5000, 'not aborted')]);
          aborts.push({ attempt, afterMs: performance.now() - started, reason });
          throw new Error('gave up');
        });
        await startWorker(handler);

        const { id } = await enqueue(type);
        const dead = await waitForState(id, JobState.JOB_STATE_DEAD);

        assert.deepEqual(
          aborts.map((abort) => abort.attempt),
          [1, 2],
        );
        for (const abort of aborts) {
          assert.match(String(abort.reason), /timeout/);
          assert.ok(abort.afterMs >= timeoutMs - 50, `aborted after ${abort.afterMs} ms`);
        }
        assert.equal(dead.failedAttempts, 2);
        assert.match(dead.lastError, /timed out after 1000 ms/);
        const failures = (await eventsOf(id)).filter((event) => event.fromState === JobState.JOB_STATE_RUNNING);
        assert.deepEqual(
          failures.map((event) => event.toState),
          [JobState.JOB_STATE_RETRYING, JobState.JOB_STATE_DEAD],
        );
        for (const failure of failures) assert.match(failure.message, /timed out/);
      });
    });

    describe('delayed and paused jobs', () => {
      it('when a job has a run_at ahead, then its handler starts no earlier than run_at', async () => {
        const type = await createType('delayed');
        const { handler, calls } = recordingHandler(type);
        await startWorker(handler);
        const runAt = new Date(Date.now() + 1500);

        const accepted = await enqueue(type, { runAt });
        const job = await waitForState(accepted.id, JobState.JOB_STATE_SUCCEEDED);

        assert.equal(accepted.state, JobState.JOB_STATE_PENDING);
        assert.equal(job.runAt?.getTime(), runAt.getTime());
        assert.equal(calls.length, 1);
        assert.ok(calls[0]!.at >= runAt.getTime(), `started ${runAt.getTime() - calls[0]!.at} ms before run_at`);
      });

      it('when a type is paused, then its jobs stay pending while other types run, and run once it resumes', async () => {
        const type = await createType('paused');
        const controlType = await createType('control');
        await setPaused(type, true);
        const held = recordingHandler(type);
        await startWorker(held.handler, recordingHandler(controlType).handler);

        const jobs = await Promise.all([enqueue(type), enqueue(type)]);
        const control = await enqueue(controlType);
        await waitForState(control.id, JobState.JOB_STATE_SUCCEEDED);

        for (const job of jobs) assert.equal((await getJob(job.id)).state, JobState.JOB_STATE_PENDING);
        assert.equal(held.calls.length, 0);
        await setPaused(type, false);
        for (const job of jobs) await waitForState(job.id, JobState.JOB_STATE_SUCCEEDED);
        assert.deepEqual(held.calls.map((call) => call.jobId).sort(), jobs.map((job) => job.id).sort());
      });
    });

    describe('worker reports', () => {
      it('when a report names an attempt that is no longer current, then it is refused with ABORTED and changes nothing, while a retried report answers as the first', async () => {
        const type = await createType('reports', { backoffMs: 60_000, maxAttempts: 3 });
        const { id } = await enqueue(type);
        await waitForState(id, JobState.JOB_STATE_QUEUED);
        const report = { jobId: id, workerId: TEST_WORKER_ID };

        const started = await service.worker.startAttempt({ ...report, attempt: 1 });
        const again = await service.worker.startAttempt({ ...report, attempt: 1 });
        const failure = { ...report, attempt: 1, error: 'disk full', retryable: true, released: false };
        const failed = await service.worker.failAttempt(failure);
        const failedAgain = await service.worker.failAttempt(failure);
        const beforeStale = await getJob(id);
        const eventsBeforeStale = await eventsOf(id);
        await expectCode(
          service.worker.completeAttempt({ ...report, attempt: 1, result: { late: true } }),
          Code.ABORTED,
        );

        assert.equal(started.job?.state, JobState.JOB_STATE_RUNNING);
        assert.deepEqual(again.job, started.job, 'a retried StartAttempt answers as the first');
        assert.equal(failed.state, JobState.JOB_STATE_RETRYING);
        assert.deepEqual(failedAgain, failed);
        assert.deepEqual(await getJob(id), beforeStale);
        assert.deepEqual(await eventsOf(id), eventsBeforeStale);

        const second = { ...report, attempt: 2, result: { sent: 1 } };
        await service.worker.startAttempt({ ...report, attempt: 2 });
        const completed = await service.worker.completeAttempt(second);
        const eventsAfterComplete = await eventsOf(id);
        const completedAgain = await service.worker.completeAttempt(second);

        assert.equal(completed.state, JobState.JOB_STATE_SUCCEEDED);
        assert.deepEqual(completed.result, { sent: 1 });
        assert.deepEqual(completedAgain, completed);
        assert.deepEqual(await eventsOf(id), eventsAfterComplete);
        await expectCode(service.worker.completeAttempt({ ...report, attempt: 1, result: {} }), Code.ABORTED);
        await expectCode(service.worker.failAttempt(failure), Code.ABORTED);
        await expectCode(service.worker.startAttempt({ ...report, attempt: 3 }), Code.FAILED_PRECONDITION);
        assert.deepEqual(await getJob(id), completed);
      });
    });
  });

  describe(`job retention on ${dialect}`, () => {
    let service: TestDataService;
    let worker: WorkerService | undefined;

    before(async () => {
      service = await startTestDataService(dialect, { 'dispatch.retentionSweepIntervalMs': 200 });
    });

    async function isGone(id: string): Promise<boolean> {
      try {
        await service.jobs.getJob({ id });
        return false;
      } catch (error) {
        if ((error as ServiceError).code === Code.NOT_FOUND) return true;
        throw error;
      }
    }
    after(async () => {
      await worker?.stop();
      await service.destroy();
    });

    it('when a finished job is older than its type retention, then the sweeper deletes it and its events', async () => {
      const type = uniqueType('kept');
      await service.jobTypes.createJobType({ jobType: JobType.fromPartial({ name: type, retention: ms(60_000) }) });
      worker = await startTestWorker(service, [
        defineJobHandler({ type, payload: ANY_PAYLOAD, run: () => Promise.resolve({}) }),
      ]);
      const [old, fresh] = await Promise.all(
        [0, 1].map(() => service.jobs.enqueue(EnqueueRequest.fromPartial({ type }))),
      );
      for (const job of [old!, fresh!]) {
        await eventually(
          () => service.jobs.getJob({ id: job.id }),
          (read) => read.state === JobState.JOB_STATE_SUCCEEDED,
          `job ${job.id} to succeed`,
        );
      }

      const database = await openDatabase({ url: service.database.url, poolMax: 1 });
      try {
        await database.query('UPDATE jobs SET finished_at = :at WHERE id = :id', {
          replacements: { at: new Date(Date.now() - 2 * 60_000), id: old!.id },
        });
        await eventually(() => isGone(old!.id), Boolean, `job ${old!.id} to be swept`);
        const [rows] = await database.query('SELECT COUNT(*) AS n FROM job_events WHERE job_id = :id', {
          replacements: { id: old!.id },
        });
        assert.equal(Number((rows as Array<{ n: number | string }>)[0]?.n), 0, 'its events are deleted too');
      } finally {
        await database.close();
      }
      await expectCode(service.jobs.listJobEvents({ jobId: old!.id, pageSize: 0, pageToken: '' }), Code.NOT_FOUND);
      assert.equal((await service.jobs.getJob({ id: fresh!.id })).state, JobState.JOB_STATE_SUCCEEDED);
      assert.ok((await service.jobs.listJobEvents({ jobId: fresh!.id, pageSize: 0, pageToken: '' })).events.length > 0);
    });
  });
}
