import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EnqueueRequest, JobState, type Job, type JobEvent } from '../../proto/gen/tandem/v1/job';
import { BackoffKind, JobType } from '../../proto/gen/tandem/v1/job_type';
import { createEmailSendJob } from '../../services/worker/src/jobs/email-send-job';
import { createUsersExportJob } from '../../services/worker/src/jobs/users-export-job';
import { createWebhookDeliverJob } from '../../services/worker/src/jobs/webhook-deliver-job';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';
import { startTestWorker } from '../support/test-worker';

const WEBHOOK_TIMEOUT_MS = 300;
const USERS = 150;

/** Follows WatchJob to the job's terminal event; answers every event and the job as it ended. */
function runToEnd(service: TestDataService, id: string, timeoutMs = 20_000): Promise<{ job: Job; events: JobEvent[] }> {
  return new Promise((resolve, reject) => {
    const events: JobEvent[] = [];
    const call = service.jobClient.watchJob({ id }, { deadline: Date.now() + timeoutMs });
    call.on('data', (event: JobEvent) => events.push(event));
    call.on('error', reject);
    call.on('end', () => {
      service.jobs.getJob({ id }).then((job) => {
        resolve({ job, events });
      }, reject);
    });
  });
}

function enqueue(service: TestDataService, type: string, payload: Record<string, unknown>): Promise<Job> {
  return service.jobs.enqueue(EnqueueRequest.fromPartial({ type, payload }));
}

/** The events that moved the job into `state`. */
function movesInto(events: readonly JobEvent[], state: JobState): JobEvent[] {
  return events.filter((event) => event.toState === state && event.fromState !== state);
}

interface ReceivedRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A webhook receiver on 127.0.0.1: `answer` decides, per path and per call number (1 for the first),
 * the status to answer, or 'hang' to never answer.
 */
async function startReceiver(answer: (path: string, call: number) => number | 'hang') {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      received.push({ path: url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = answer(url, received.filter((entry) => entry.path === url).length);
      if (status !== 'hang') response.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (route: string) => `http://127.0.0.1:${port}${route}`,
    received: (route: string) => received.filter((entry) => entry.path === route),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('built-in job handlers run by a real worker', function () {
  this.timeout(60_000);
  let service: TestDataService;
  let worker: WorkerService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dir: string;
  let mailDir: string;
  let exportDir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-handlers-test-'));
    mailDir = path.join(dir, 'mail');
    exportDir = path.join(dir, 'exports');
    // No welcome e-mails: the exports below would otherwise wait behind 150 of them.
    service = await startTestDataService('sqlite', { 'jobs.welcomeEmail': false });
    // Retries of webhook.deliver (declared in config with a 2 s base) must not slow the suite down.
    await service.jobTypes.updateJobType({
      jobType: JobType.fromPartial({
        name: 'webhook.deliver',
        backoff: { kind: BackoffKind.BACKOFF_KIND_FIXED, base: { seconds: '0', nanos: 50_000_000 }, jitter: 0 },
      }),
      updateMask: ['backoff.kind', 'backoff.base', 'backoff.jitter'],
    });
    receiver = await startReceiver((route, call) => {
      if (route === '/ok') return 200;
      if (route === '/flaky') return call === 1 ? 503 : 200;
      if (route === '/slow') return call === 1 ? 'hang' : 204;
      return 404;
    });
    worker = await startTestWorker(service, [
      createEmailSendJob({ smtpUrl: '', from: 'Tandem <t@example.com>', mailDir }),
      createWebhookDeliverJob(WEBHOOK_TIMEOUT_MS),
      createUsersExportJob(exportDir),
    ]);
  });
  after(async () => {
    await worker.stop();
    await receiver.close();
    await service.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('email.send', () => {
    it('writes the message as <jobId>.eml with its recipient, subject and text', async () => {
      const job = await enqueue(service, 'email.send', {
        to: 'ada@example.com',
        subject: 'Your report is ready',
        text: 'Hello Ada, the numbers are in.',
      });

      const { job: done } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.lastError);
      const file = path.join(mailDir, `${job.id}.eml`);
      assert.deepEqual(done.result, { messageId: `<${job.id}@tandem.invalid>`, transport: 'file', file });
      const message = fs.readFileSync(file, 'utf8');
      assert.match(message, /^To: ada@example\.com$/m);
      assert.match(message, /^From: Tandem <t@example\.com>$/m);
      assert.match(message, /^Subject: Your report is ready$/m);
      assert.match(message, /Hello Ada, the numbers are in\./);
      assert.match(message, new RegExp(`^Message-ID: <${job.id}@tandem\\.invalid>$`, 'mi'));
    });

    it('declares a job with an invalid payload dead after one attempt: retrying cannot fix its input', async () => {
      const job = await enqueue(service, 'email.send', { to: 'not-an-email', subject: 'Hi', text: 'x' });

      const { job: done, events } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_DEAD);
      assert.equal(done.attempt, 1);
      assert.equal(done.failedAttempts, 1);
      assert.ok(done.maxAttempts > 1, 'the type allows retries: only the error made it final');
      assert.match(done.lastError, /ZodError/);
      assert.match(done.lastError, /email/i);
      assert.equal(movesInto(events, JobState.JOB_STATE_RETRYING).length, 0);
      assert.equal(fs.existsSync(path.join(mailDir, `${job.id}.eml`)), false);
    });
  });

  describe('webhook.deliver', () => {
    it('posts the JSON body with the job id as idempotency key and succeeds on 200', async () => {
      const body = { event: 'order.paid', orderId: 42, tags: ['a', 'b'] };
      const job = await enqueue(service, 'webhook.deliver', { url: receiver.url('/ok'), body });

      const { job: done } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.lastError);
      assert.deepEqual(done.result, { status: 200 });
      const [request, ...more] = receiver.received('/ok');
      assert.ok(request);
      assert.equal(more.length, 0);
      assert.equal(request.headers['idempotency-key'], job.id);
      assert.equal(request.headers['x-tandem-attempt'], '1');
      assert.match(request.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(request.body), body);
    });

    it('retries after a 503 and succeeds on the next 200', async () => {
      const job = await enqueue(service, 'webhook.deliver', { url: receiver.url('/flaky'), body: { n: 1 } });

      const { job: done, events } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.lastError);
      assert.equal(done.attempt, 2);
      assert.equal(done.failedAttempts, 1);
      const [retry] = movesInto(events, JobState.JOB_STATE_RETRYING);
      assert.match(retry?.message ?? '', /503/);
      const requests = receiver.received('/flaky');
      assert.deepEqual(
        requests.map((request) => [request.headers['idempotency-key'], request.headers['x-tandem-attempt']]),
        [
          [job.id, '1'],
          [job.id, '2'],
        ],
      );
    });

    it('declares the job dead after one attempt on a 404', async () => {
      const job = await enqueue(service, 'webhook.deliver', { url: receiver.url('/gone'), body: {} });

      const { job: done, events } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_DEAD);
      assert.equal(done.attempt, 1);
      assert.match(done.lastError, /404/);
      assert.equal(movesInto(events, JobState.JOB_STATE_RETRYING).length, 0);
      assert.equal(receiver.received('/gone').length, 1);
    });

    it('fails an attempt whose endpoint does not answer within the timeout, and retries it', async () => {
      const job = await enqueue(service, 'webhook.deliver', { url: receiver.url('/slow'), body: {} });

      const { job: done, events } = await runToEnd(service, job.id);

      assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.lastError);
      assert.deepEqual(done.result, { status: 204 });
      assert.equal(done.attempt, 2);
      const [retry] = movesInto(events, JobState.JOB_STATE_RETRYING);
      assert.match(retry?.message ?? '', /timeout|abort/i);
      assert.equal(receiver.received('/slow').length, 2);
    });
  });

  describe('users.export', () => {
    let usernames: Set<string>;
    before(async () => {
      usernames = new Set();
      for (let start = 0; start < USERS; start += 15) {
        const users = await Promise.all(
          Array.from({ length: Math.min(15, USERS - start) }, () =>
            service.users.createUser({ user: { ...newUserInput(), id: '', orderCount: '0', etag: '' }, requestId: '' }),
          ),
        );
        for (const user of users) usernames.add(user.username);
      }
    });

    async function exportUsers(format: 'csv' | 'jsonl') {
      const job = await enqueue(service, 'users.export', { format });
      const { job: done } = await runToEnd(service, job.id);
      assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.lastError);
      const file = path.join(exportDir, `users-${job.id}.${format}`);
      assert.deepEqual(done.result, { file, format, users: USERS });
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'the file ends with a newline');
      assert.equal(fs.existsSync(`${file}.partial`), false);
      return { job: done, lines };
    }

    it('writes a CSV file with a header and one row per user', async () => {
      const { lines } = await exportUsers('csv');

      const [header, ...rows] = lines;
      assert.equal(header, 'id,username,email,status,order_count,create_time,delete_time');
      assert.equal(rows.length, USERS);
      assert.deepEqual(new Set(rows.map((row) => row.split(',')[1])), usernames);
    });

    it('writes a JSON-lines file of every user and reports its progress on the way', async () => {
      const { job, lines } = await exportUsers('jsonl');

      const exported = lines.map((line) => JSON.parse(line) as { username: string; email: string });
      assert.equal(exported.length, USERS);
      assert.deepEqual(new Set(exported.map((user) => user.username)), usernames);
      const { events } = await service.jobs.listJobEvents({ jobId: job.id, pageSize: 100, pageToken: '' });
      const progress = events.filter(
        (event) => event.fromState === JobState.JOB_STATE_RUNNING && event.toState === JobState.JOB_STATE_RUNNING,
      );
      assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(progress)}`);
      assert.deepEqual(
        progress.map((event) => event.progress),
        [...progress.map((event) => event.progress)].sort((a, b) => a - b),
        'progress only grows',
      );
      assert.equal(progress.at(-1)?.progress, 100);
      assert.equal(progress.at(-1)?.message, `${USERS} users exported`);
    });
  });
});

describe('worker health endpoint', () => {
  let service: TestDataService;
  let worker: WorkerService;
  before(async () => {
    service = await startTestDataService('sqlite');
    worker = await startTestWorker(service, []);
  });
  after(async () => {
    await worker.stop();
    await service.destroy();
  });

  async function healthz(): Promise<{ status: number; checks: Record<string, string> }> {
    const response = await fetch(`http://127.0.0.1:${worker.healthPort}/healthz`);
    const body = (await response.json()) as { checks: Record<string, string> };
    return { status: response.status, checks: body.checks };
  }

  /** Asks until the endpoint answers `status`: the data service's first database probe may still run. */
  async function healthzUntil(status: number, timeoutMs = 5_000): ReturnType<typeof healthz> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await healthz();
      if (answer.status === status || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('answers 200 with Redis and the data service ok, then 503 once the data service is gone', async () => {
    const healthy = await healthzUntil(200);
    assert.deepEqual(healthy, { status: 200, checks: { redis: 'ok', dataService: 'ok' } });

    await service.stop();
    const unhealthy = await healthz();

    assert.equal(unhealthy.status, 503);
    assert.equal(unhealthy.checks['redis'], 'ok');
    assert.notEqual(unhealthy.checks['dataService'], 'ok');
  });
});
