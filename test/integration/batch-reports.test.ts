import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import { BadRequest, ErrorInfo } from '../../proto/gen/google/rpc/error_details';
import type { Status } from '../../proto/gen/google/rpc/status';
import { EnqueueRequest, JobState, type Job, type JobEvent } from '../../proto/gen/tandem/v1/job';
import { BackoffKind, JobType } from '../../proto/gen/tandem/v1/job_type';
import type {
  AttemptReport,
  AttemptReportResult,
  BatchReportAttemptsResponse,
  ClaimedAttempt,
} from '../../proto/gen/tandem/v1/worker';
import { newId } from '../../services/data/src/domain/ids';
import { bearer, detailsOf, expectCode, expectInvalid } from '../support/grpc-client';
import { DIALECTS } from '../support/test-database';
import { startTestDataService, type TestDataService } from '../support/test-data-service';

const CLIENT_TOKEN = 'batch-client-token-'.padEnd(24, 'c');
const WORKER_TOKEN = 'batch-worker-token-'.padEnd(24, 'w');
const WORKER_ID = 'batch-reports-test-worker';
const HOUR = { seconds: '3600', nanos: 0 };
const MAX_REPORTS = 500;

function startReport(jobId: string, attempt = 1): AttemptReport {
  return { report: { $case: 'start', value: { jobId, attempt, workerId: WORKER_ID } } };
}

function completeReport(jobId: string, result: Record<string, unknown>, attempt = 1): AttemptReport {
  return { report: { $case: 'complete', value: { jobId, attempt, workerId: WORKER_ID, result } } };
}

function failReport(jobId: string, error: string, retryable: boolean): AttemptReport {
  return {
    report: { $case: 'fail', value: { jobId, attempt: 1, workerId: WORKER_ID, error, retryable, released: false } },
  };
}

/** Each result as its kind, and a refusal with its code: `claimed`, `recorded`, `error ABORTED`. */
function kindsOf({ results }: BatchReportAttemptsResponse): string[] {
  return results.map(({ result }) =>
    result?.$case === 'error' ? `error ${Code[result.value.code]}` : String(result?.$case),
  );
}

function claimedOf(entry: AttemptReportResult | undefined): ClaimedAttempt {
  const result = entry?.result;
  if (result?.$case !== 'claimed') assert.fail(`expected claimed, got ${JSON.stringify(result)}`);
  return result.value;
}

function refusalOf(entry: AttemptReportResult | undefined): Status {
  const result = entry?.result;
  if (result?.$case !== 'error') assert.fail(`expected an error, got ${JSON.stringify(result)}`);
  return result.value;
}

/** The google.rpc details packed in a Status, as a client decodes them from its Any entries. */
function decodeDetails(status: Status): { errorInfo: ErrorInfo | undefined; fields: string[] } {
  let errorInfo: ErrorInfo | undefined;
  const fields: string[] = [];
  for (const detail of status.details) {
    if (detail.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') errorInfo = ErrorInfo.decode(detail.value);
    if (detail.typeUrl === 'type.googleapis.com/google.rpc.BadRequest') {
      fields.push(...BadRequest.decode(detail.value).fieldViolations.map((violation) => violation.field));
    }
  }
  return { errorInfo, fields };
}

function runningEvents(events: readonly JobEvent[]): JobEvent[] {
  return events.filter((event) => event.toState === JobState.JOB_STATE_RUNNING);
}

for (const dialect of DIALECTS) {
  describe(`BatchReportAttempts on ${dialect}`, () => {
    let service: TestDataService;
    let type: string;

    function report(reports: AttemptReport[]): Promise<BatchReportAttemptsResponse> {
      return service.worker.batchReportAttempts({ reports }, bearer(WORKER_TOKEN));
    }

    /** Enqueues `count` jobs of the suite's type; they stay PENDING or QUEUED, as no worker runs. */
    async function enqueue(count: number): Promise<Job[]> {
      const requests = Array.from({ length: count }, (_, n) => EnqueueRequest.fromPartial({ type, payload: { n } }));
      const { jobs } = await service.jobs.batchEnqueue({ requests }, bearer(CLIENT_TOKEN));
      assert.equal(jobs.length, count);
      return jobs;
    }

    /** Enqueues a job and starts attempt 1 with the single method: a RUNNING job whose lease lasts an hour. */
    async function runningJob(): Promise<Job> {
      const [queued] = await enqueue(1);
      assert.ok(queued);
      const { job } = await service.worker.startAttempt(
        { jobId: queued.id, attempt: 1, workerId: WORKER_ID },
        bearer(WORKER_TOKEN),
      );
      assert.equal(job?.state, JobState.JOB_STATE_RUNNING);
      return job;
    }

    function getJob(id: string): Promise<Job> {
      return service.jobs.getJob({ id }, bearer(CLIENT_TOKEN));
    }

    async function eventsOf(jobId: string): Promise<JobEvent[]> {
      return (await service.jobs.listJobEvents({ jobId, pageSize: 100, pageToken: '' }, bearer(CLIENT_TOKEN))).events;
    }

    /** Fails unless the job was never started: no attempt, no RUNNING event. */
    async function assertNotStarted(jobId: string): Promise<void> {
      const job = await getJob(jobId);
      assert.equal(job.attempt, 0, `job ${jobId} was started`);
      assert.ok([JobState.JOB_STATE_PENDING, JobState.JOB_STATE_QUEUED].includes(job.state), JobState[job.state]);
      assert.deepEqual(runningEvents(await eventsOf(jobId)), []);
    }

    before(async () => {
      service = await startTestDataService(dialect, {
        'auth.clientTokens': [CLIENT_TOKEN],
        'auth.workerTokens': [WORKER_TOKEN],
      });
      type = `batch.reports-${randomBytes(4).toString('hex')}`;
      await service.jobTypes.createJobType(
        {
          jobType: JobType.fromPartial({
            name: type,
            maxAttempts: 3,
            backoff: { kind: BackoffKind.BACKOFF_KIND_FIXED, base: HOUR, cap: HOUR, jitter: 0 },
            timeout: HOUR,
          }),
        },
        bearer(CLIENT_TOKEN),
      );
    });
    after(async () => {
      await service.destroy();
    });

    it("when the type's timeout changes, then the next start is leased with the new timeout at once", async () => {
      const setTimeoutTo = (timeout: { seconds: string; nanos: number }) =>
        service.jobTypes.updateJobType(
          { jobType: JobType.fromPartial({ name: type, timeout }), updateMask: ['timeout'] },
          bearer(CLIENT_TOKEN),
        );
      const [before, after] = await enqueue(2);
      assert.ok(before && after);
      assert.deepEqual(claimedOf((await report([startReport(before.id)])).results[0]).timeout, HOUR);
      try {
        await setTimeoutTo({ seconds: '7200', nanos: 0 });
        const started = claimedOf((await report([startReport(after.id)])).results[0]);
        assert.deepEqual(started.timeout, { seconds: '7200', nanos: 0 });
      } finally {
        await setTimeoutTo(HOUR);
      }
    });

    describe('a batch of good and refused reports', () => {
      let toStart: Job[];
      let toComplete: Job;
      /** Running at attempt 1; the batch reports a completion of attempt 2. */
      let staleTarget: Job;
      let staleBefore: { job: Job; events: JobEvent[] };
      const missingId = newId();
      let reports: AttemptReport[];
      let first: BatchReportAttemptsResponse;

      before(async () => {
        toStart = await enqueue(2);
        toComplete = await runningJob();
        staleTarget = await runningJob();
        staleBefore = { job: await getJob(staleTarget.id), events: await eventsOf(staleTarget.id) };
        const [a, b] = toStart;
        assert.ok(a && b);
        reports = [
          startReport(a.id),
          startReport(b.id),
          completeReport(toComplete.id, { answer: 42 }),
          completeReport(staleTarget.id, { stale: true }, 2),
          startReport('not-a-uuid'),
          failReport(missingId, 'boom', true),
        ];

        first = await report(reports);
      });

      it('answers every report in its own entry, in order: started, recorded or the refusal', () => {
        assert.deepEqual(kindsOf(first), [
          'claimed',
          'claimed',
          'recorded',
          'error ABORTED',
          'error INVALID_ARGUMENT',
          'error NOT_FOUND',
        ]);
      });

      it("answers a start with the job's type, payload and lease, as StartAttempt leases it, the job RUNNING", async () => {
        for (const [index, queued] of toStart.entries()) {
          const claimed = claimedOf(first.results[index]);
          const stored = await getJob(queued.id);

          assert.equal(claimed.type, type);
          assert.deepEqual(claimed.payload, { n: index });
          assert.deepEqual(claimed.payload, stored.payload);
          assert.deepEqual(claimed.timeout, HOUR);
          assert.deepEqual(claimed.heartbeatInterval, { seconds: '10', nanos: 0 });
          assert.equal(stored.state, JobState.JOB_STATE_RUNNING);
          assert.equal(stored.attempt, 1);
          assert.equal(stored.workerId, WORKER_ID);
        }
      });

      it('gives each refusal its ErrorInfo, and the invalid report a BadRequest whose path names its entry', () => {
        const stale = refusalOf(first.results[3]);
        const invalid = refusalOf(first.results[4]);
        const missing = refusalOf(first.results[5]);

        assert.equal(decodeDetails(stale).errorInfo?.reason, 'STALE_ATTEMPT');
        assert.equal(decodeDetails(stale).errorInfo?.domain, 'tandem.v1');
        assert.equal(decodeDetails(stale).errorInfo?.metadata['jobId'], staleTarget.id);
        assert.deepEqual(decodeDetails(stale).fields, []);
        assert.match(stale.message, /no longer current/);
        assert.ok(decodeDetails(invalid).errorInfo, 'an INVALID_ARGUMENT entry carries an ErrorInfo too');
        assert.deepEqual(decodeDetails(invalid).fields, ['reports[4].start.job_id']);
        assert.ok(decodeDetails(missing).errorInfo, 'a NOT_FOUND entry carries an ErrorInfo');
        assert.match(missing.message, new RegExp(missingId));
      });

      it('leaves the jobs of refused reports as they were', async () => {
        assert.deepEqual(await getJob(staleTarget.id), staleBefore.job);
        assert.deepEqual(await eventsOf(staleTarget.id), staleBefore.events);
        await expectCode(getJob(missingId), Code.NOT_FOUND);
      });

      it('records the good reports: the started jobs RUNNING, the completed one SUCCEEDED, each with its event', async () => {
        for (const queued of toStart) {
          const job = await getJob(queued.id);
          const started = runningEvents(await eventsOf(queued.id));

          assert.equal(job.state, JobState.JOB_STATE_RUNNING);
          assert.equal(job.attempt, 1);
          assert.equal(job.workerId, WORKER_ID);
          assert.deepEqual(
            started.map((event) => [event.attempt, event.workerId]),
            [[1, WORKER_ID]],
          );
        }
        const completed = await getJob(toComplete.id);
        const last = (await eventsOf(toComplete.id)).at(-1);
        assert.equal(completed.state, JobState.JOB_STATE_SUCCEEDED);
        assert.deepEqual(completed.result, { answer: 42 });
        assert.equal(completed.progress, 100);
        assert.ok(completed.finishTime);
        assert.equal(last?.fromState, JobState.JOB_STATE_RUNNING);
        assert.equal(last.toState, JobState.JOB_STATE_SUCCEEDED);
        assert.equal(last.attempt, 1);
        assert.equal(last.workerId, WORKER_ID);
      });

      it('when the identical batch is sent again, answers the recorded reports as before and adds no event', async () => {
        const ids = [...toStart.map((job) => job.id), toComplete.id, staleTarget.id];
        const eventsBefore = await Promise.all(ids.map(eventsOf));
        const jobsBefore = await Promise.all(ids.map(getJob));

        const again = await report(reports);

        assert.deepEqual(kindsOf(again), kindsOf(first));
        assert.deepEqual(claimedOf(again.results[0]), claimedOf(first.results[0]));
        assert.deepEqual(claimedOf(again.results[1]), claimedOf(first.results[1]));
        assert.deepEqual(await Promise.all(ids.map(eventsOf)), eventsBefore);
        assert.deepEqual(await Promise.all(ids.map(getJob)), jobsBefore);
      });
    });

    describe('a failure report', () => {
      it('when retryable, moves the job to RETRYING with an event; when not, the job is dead', async () => {
        const retryable = await runningJob();
        const fatal = await runningJob();
        const completed = await runningJob();
        const reports = [
          failReport(retryable.id, 'disk full', true),
          failReport(fatal.id, 'bad input', false),
          completeReport(completed.id, { ok: true }),
        ];

        const answer = await report(reports);

        assert.deepEqual(kindsOf(answer), ['recorded', 'recorded', 'recorded']);
        const retrying = await getJob(retryable.id);
        assert.equal(retrying.state, JobState.JOB_STATE_RETRYING);
        assert.equal(retrying.attempt, 1);
        assert.equal(retrying.failedAttempts, 1);
        assert.equal(retrying.lastError, 'disk full');
        assert.ok(retrying.runAt && retrying.runAt.getTime() > Date.now() + 30 * 60_000, 'retried after the backoff');
        const last = (await eventsOf(retryable.id)).at(-1);
        assert.equal(last?.fromState, JobState.JOB_STATE_RUNNING);
        assert.equal(last.toState, JobState.JOB_STATE_RETRYING);
        assert.equal(last.message, 'disk full');
        assert.equal(last.attempt, 1);
        assert.equal(last.workerId, WORKER_ID);
        assert.equal((await getJob(fatal.id)).state, JobState.JOB_STATE_DEAD);
        assert.equal((await getJob(completed.id)).state, JobState.JOB_STATE_SUCCEEDED);
      });

      it('when sent again, answers recorded and adds no event', async () => {
        const job = await runningJob();
        const reports = [failReport(job.id, 'timeout talking to the mail server', true)];
        await report(reports);
        const eventsBefore = await eventsOf(job.id);
        const jobBefore = await getJob(job.id);

        const again = await report(reports);

        assert.deepEqual(kindsOf(again), ['recorded']);
        assert.equal(jobBefore.state, JobState.JOB_STATE_RETRYING);
        assert.deepEqual(await eventsOf(job.id), eventsBefore);
        assert.deepEqual(await getJob(job.id), jobBefore);
      });
    });

    describe('errors of the whole call', () => {
      it('rejects an empty batch with INVALID_ARGUMENT naming reports', async () => {
        assert.deepEqual(await expectInvalid(report([])), ['reports']);
      });

      it('rejects 501 reports with INVALID_ARGUMENT naming reports, and records none of them', async () => {
        const [job] = await enqueue(1);
        assert.ok(job);
        const reports = [startReport(job.id), ...Array.from({ length: MAX_REPORTS }, () => startReport(newId()))];

        const fields = await expectInvalid(report(reports));

        assert.deepEqual(fields, ['reports']);
        await assertNotStarted(job.id);
      });

      it('rejects an entry without a kind with INVALID_ARGUMENT naming that entry, and records nothing', async () => {
        const [job] = await enqueue(1);
        assert.ok(job);

        const fields = await expectInvalid(report([startReport(job.id), {}]));

        assert.deepEqual(fields, ['reports[1]']);
        await assertNotStarted(job.id);
      });

      it('rejects a job named twice with INVALID_ARGUMENT naming the second job_id, and records nothing', async () => {
        const [job] = await enqueue(1);
        assert.ok(job);

        const error = await expectCode(
          report([startReport(job.id), completeReport(job.id, { ok: true })]),
          Code.INVALID_ARGUMENT,
        );

        assert.deepEqual(
          detailsOf(error).fieldViolations.map((violation) => violation.field),
          ['reports[1].complete.job_id'],
        );
        assert.ok(detailsOf(error).errorInfo);
        await assertNotStarted(job.id);
      });

      it('rejects a client token with PERMISSION_DENIED: only workers report', async () => {
        const [job] = await enqueue(1);
        assert.ok(job);

        await expectCode(
          service.worker.batchReportAttempts({ reports: [startReport(job.id)] }, bearer(CLIENT_TOKEN)),
          Code.PERMISSION_DENIED,
        );

        await assertNotStarted(job.id);
      });
    });
  });
}
