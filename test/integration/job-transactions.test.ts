import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { status as Code } from '@grpc/grpc-js';
import { JobState, ListJobsRequest, type Job } from '../../proto/gen/tandem/v1/job';
import { ListUsersRequest, User } from '../../proto/gen/tandem/v1/user';
import { createEmailSendJob } from '../../services/worker/src/jobs/email-send-job';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { detailsOf, expectCode } from '../support/grpc-client';
import { DIALECTS } from '../support/test-database';
import { newUserInput, startTestDataService, uniqueUsername, type TestDataService } from '../support/test-data-service';
import { startTestWorker } from '../support/test-worker';

const EMAIL_TYPE = 'email.send';
const WAIT_MS = 15_000;

function userOf(username = uniqueUsername('wm')): User {
  return User.fromPartial(newUserInput(username));
}

/** Every email.send job, newest first, across all pages. */
async function emailJobs(service: TestDataService): Promise<Job[]> {
  const jobs: Job[] = [];
  let pageToken = '';
  do {
    const page = await service.jobs.listJobs(
      ListJobsRequest.fromPartial({ type: EMAIL_TYPE, pageSize: 100, pageToken }),
    );
    jobs.push(...page.jobs);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return jobs;
}

async function welcomeJobsOf(service: TestDataService, email: string): Promise<Job[]> {
  return (await emailJobs(service)).filter((job) => (job.payload as { to?: unknown } | undefined)?.to === email);
}

async function emailJobCount(service: TestDataService): Promise<number> {
  const { counts } = await service.jobs.countJobs({ type: EMAIL_TYPE });
  return counts.reduce((sum, entry) => sum + Number(entry.count), 0);
}

for (const dialect of DIALECTS) {
  describe(`CreateUser and its welcome e-mail on ${dialect}`, () => {
    let service: TestDataService;

    before(async () => {
      service = await startTestDataService(dialect);
    });
    after(async () => {
      await service.destroy();
    });

    it('when a user is created, then exactly one email.send job addressed to the user is enqueued', async () => {
      const input = userOf();

      const user = await service.users.createUser({ user: input, requestId: '' });

      const jobs = await welcomeJobsOf(service, user.email);
      assert.equal(jobs.length, 1);
      const [job] = jobs;
      assert.ok(job);
      assert.equal(job.type, EMAIL_TYPE);
      assert.equal(job.idempotencyKey, `welcome:${user.id}`);
      assert.deepEqual(job.payload, {
        to: user.email,
        subject: 'Welcome to Tandem',
        text: `Hello ${user.username},\n\nyour Tandem account is ready.\n`,
      });
    });

    it('when CreateUser fails on a taken username, then no email.send job is enqueued', async () => {
      const taken = await service.users.createUser({ user: userOf(), requestId: '' });
      const before = await emailJobCount(service);
      const clash = User.fromPartial({ ...userOf(), username: taken.username });

      await expectCode(service.users.createUser({ user: clash, requestId: '' }), Code.ALREADY_EXISTS);

      assert.equal(await emailJobCount(service), before);
      assert.deepEqual(await welcomeJobsOf(service, clash.email), []);
    });

    it('when CreateUser is retried with the same request_id, then one user and one e-mail exist', async () => {
      const input = userOf();
      const requestId = randomUUID();
      const before = await emailJobCount(service);

      const first = await service.users.createUser({ user: input, requestId });
      const concurrent = await Promise.all(
        Array.from({ length: 5 }, () => service.users.createUser({ user: input, requestId })),
      );

      assert.deepEqual(
        concurrent.map((user) => user.id),
        Array.from({ length: 5 }, () => first.id),
      );
      assert.equal(await emailJobCount(service), before + 1);
      assert.equal((await welcomeJobsOf(service, first.email)).length, 1);
    });

    describe('with a worker running the built-in email handler', () => {
      let worker: WorkerService | undefined;
      let mailDir: string;

      before(() => {
        mailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-mail-'));
      });
      after(async () => {
        await worker?.stop();
        fs.rmSync(mailDir, { recursive: true, force: true });
      });

      it('when a user is created, then the welcome job succeeds and writes <jobId>.eml with the subject', async () => {
        worker = await startTestWorker(service, [createEmailSendJob({ smtpUrl: '', from: 't@x', mailDir })]);
        const user = await service.users.createUser({ user: userOf(), requestId: '' });
        const [queued] = await welcomeJobsOf(service, user.email);
        assert.ok(queued, 'the welcome job exists');

        const deadline = Date.now() + WAIT_MS;
        let job = queued;
        while (job.state !== JobState.JOB_STATE_SUCCEEDED) {
          assert.ok(
            ![JobState.JOB_STATE_DEAD, JobState.JOB_STATE_CANCELLED].includes(job.state),
            `the welcome job ended ${JobState[job.state]}: ${job.lastError}`,
          );
          assert.ok(Date.now() < deadline, `the welcome job is still ${JobState[job.state]}`);
          await delay(25);
          job = await service.jobs.getJob({ id: queued.id });
        }

        const file = path.join(mailDir, `${job.id}.eml`);
        assert.equal(job.result?.['file'], file);
        const message = fs.readFileSync(file, 'utf8');
        assert.match(message, /^Subject: Welcome to Tandem$/m);
        assert.match(message, new RegExp(`^To: ${user.email}$`, 'm'));
      });
    });
  });

  describe(`CreateUser without an email.send type on ${dialect}`, () => {
    let service: TestDataService;

    before(async () => {
      service = await startTestDataService(dialect, { 'jobs.types': [] });
    });
    after(async () => {
      await service.destroy();
    });

    it('when the welcome e-mail cannot be enqueued, then the user is not created either', async () => {
      const input = userOf();

      const error = await expectCode(
        service.users.createUser({ user: input, requestId: '' }),
        Code.FAILED_PRECONDITION,
      );

      assert.equal(detailsOf(error).errorInfo?.reason, 'WELCOME_EMAIL_UNAVAILABLE');
      const listed = await service.users.listUsers(ListUsersRequest.fromPartial({ usernamePrefix: input.username }));
      assert.deepEqual(listed.users, []);
      assert.equal(await emailJobCount(service), 0);
    });
  });
}
