import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrderServiceService } from '../../proto/gen/tandem/v1/order';
import { UserServiceService } from '../../proto/gen/tandem/v1/user';
import { createEmailSendJob } from '../../services/worker/src/jobs/email-send-job';
import type { WorkerService } from '../../services/worker/src/worker-service';
import { startTestDataService, type TestDataService } from '../support/test-data-service';
import { startTestWorker } from '../support/test-worker';

// The README's examples are exactly what this test runs: the marked ```sh blocks, taken verbatim, with
// only the value of `ADDR=` pointed at a fresh data service. Each `call` prints `> METHOD REQUEST` and
// then the answer (or, for the calls the README expects to fail, the error and the exit code), so the
// transcript says which answer belongs to which request.

const ROOT = path.resolve(__dirname, '../..');
type Session = 'users-and-orders' | 'jobs';
const README_ADDRESS = /^ADDR=127\.0\.0\.1:50051$/m;
const RUN_TIMEOUT_MS = 60_000;
const CLIENT_TOKEN = 'readme-example-client-token';

type Json = Record<string, unknown>;

interface Exchange {
  readonly index: number;
  readonly method: string;
  readonly request: Json;
  /** The JSON documents printed after the request: one answer, or one error. */
  readonly answers: Json[];
  readonly text: string[];
}

interface Transcript {
  /** Lines printed before the first call: the service and method lists. */
  readonly preamble: string[];
  readonly exchanges: Exchange[];
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asJson(value: unknown, what: string): Json {
  assert.ok(isJson(value), `${what} is not a JSON object: ${JSON.stringify(value)}`);
  return value;
}

function asList(value: unknown, what: string): Json[] {
  assert.ok(Array.isArray(value), `${what} is not a list: ${JSON.stringify(value)}`);
  return value.map((item, index) => asJson(item, `${what}[${index}]`));
}

/** The marked blocks of the README, verbatim, joined in order into one script. */
/** The blocks of one example session, in order; the jobs session continues the users-and-orders one. */
function readmeBlocks(session: Session): string {
  const marker = `<!-- example: ${session} -->`;
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(new RegExp(`${marker}\\s*\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``, 'g'))].map(
    (match) => match[1] ?? '',
  );
  const markers = readme.split(marker).length - 1;
  assert.ok(blocks.length > 0, `README.md has no \`\`\`sh block after ${marker}`);
  assert.equal(blocks.length, markers, `every ${marker} must be followed by a \`\`\`sh block`);
  return blocks.join('\n');
}

function readmeScript(session: Session = 'users-and-orders'): string {
  return session === 'jobs' ? `${readmeBlocks('users-and-orders')}\n${readmeBlocks('jobs')}` : readmeBlocks(session);
}

function pointAt(script: string, address: string): string {
  assert.equal(script.match(new RegExp(README_ADDRESS, 'gm'))?.length, 1, 'the examples set ADDR=127.0.0.1:50051 once');
  return script.replace(README_ADDRESS, `ADDR=${address}`);
}

/**
 * Runs the script as a reader would, from the repository root, with nothing of this process's
 * environment: node and the system tools on PATH, but not node_modules/.bin, which the README adds.
 */
function runScript(script: string, extraEnv: Readonly<Record<string, string>> = {}): Promise<Run> {
  const env = {
    PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
    HOME: os.homedir(),
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Splits the output into the calls, each with the JSON documents and lines printed after it. */
function parseTranscript(stdout: string): Transcript {
  const preamble: string[] = [];
  const exchanges: Exchange[] = [];
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const current = exchanges[exchanges.length - 1];
    if (line.startsWith('> ')) {
      const [method = '', ...request] = line.slice(2).split(' ');
      exchanges.push({
        index: exchanges.length,
        method,
        request: asJson(JSON.parse(request.join(' ')), line),
        answers: [],
        text: [],
      });
    } else if (line.startsWith('{')) {
      // buf curl pretty-prints: a document ends on the first line at column 0 that closes it.
      let end = i;
      while (line !== '{}' && !(lines[end] ?? '}').startsWith('}')) end++;
      const document = lines.slice(i, end + 1).join('\n');
      assert.ok(current, `an answer before any call: ${document}`);
      current.answers.push(asJson(JSON.parse(document), document));
      i = end;
    } else if (line.trim() !== '') {
      (current?.text ?? preamble).push(line);
    }
  }
  return { preamble, exchanges };
}

function isError(answer: Json): boolean {
  return typeof answer['code'] === 'string' && typeof answer['message'] === 'string';
}

function describeRun(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

describe('the README examples', () => {
  let service: TestDataService;
  let transcript: Transcript;

  /** The calls to `method`, in order. */
  const callsOf = (method: string): Exchange[] => transcript.exchanges.filter((exchange) => exchange.method === method);
  const answerOf = (exchange: Exchange): Json => {
    assert.equal(exchange.answers.length, 1, `${exchange.method} printed ${exchange.answers.length} answers`);
    return exchange.answers[0]!;
  };
  const succeeded = (method: string): Array<{ exchange: Exchange; answer: Json }> =>
    callsOf(method)
      .map((exchange) => ({ exchange, answer: answerOf(exchange) }))
      .filter(({ answer }) => !isError(answer));
  const failures = (): Json[] => transcript.exchanges.map(answerOf).filter(isError);

  before(async function () {
    this.timeout(RUN_TIMEOUT_MS + 30_000);
    service = await startTestDataService('sqlite');
    const run = await runScript(pointAt(readmeScript(), service.address));
    assert.equal(run.code, 0, `the README session failed:\n${describeRun(run)}`);
    transcript = parseTranscript(run.stdout);
  });
  after(async () => {
    await service.destroy();
  });

  it('calls every RPC of UserService and OrderService', () => {
    const script = readmeScript();
    const paths = [...Object.values(UserServiceService), ...Object.values(OrderServiceService)].map((method) =>
      method.path.slice(1),
    );
    const missing = paths.filter((rpc) => !script.includes(`call ${rpc} `));
    assert.deepEqual(missing, [], `the README has no example of ${missing.join(', ')}`);
    for (const rpc of paths) assert.ok(callsOf(rpc).length > 0, `${rpc} did not run`);
  });

  it('lists the services and their methods, and health answers SERVING', () => {
    for (const name of ['tandem.v1.UserService', 'tandem.v1.OrderService', 'grpc.health.v1.Health']) {
      assert.ok(transcript.preamble.includes(name), `${name} not listed:\n${transcript.preamble.join('\n')}`);
    }
    assert.ok(transcript.preamble.includes('tandem.v1.UserService/UndeleteUser'), 'methods not listed');
    assert.ok(transcript.preamble.includes('tandem.v1.OrderService/DeleteOrder'), 'methods not listed');
    const checks = callsOf('grpc.health.v1.Health/Check');
    assert.ok(checks.length > 0);
    for (const check of checks) assert.equal(answerOf(check)['status'], 'SERVING');
  });

  it('creates users, and a retry with the same request_id returns the first one', () => {
    const creates = succeeded('tandem.v1.UserService/CreateUser');
    assert.ok(creates.length >= 3, 'three creates expected: a user, its retry, another user');
    const [first, retry, other] = creates;
    assert.match(String(first?.answer['id']), /^[0-9a-f-]{36}$/);
    assert.equal(retry?.exchange.request['requestId'], first?.exchange.request['requestId']);
    assert.equal(retry?.answer['id'], first?.answer['id']);
    assert.notEqual(other?.answer['id'], first?.answer['id']);
    for (const { answer } of creates) {
      assert.equal(answer['password'], undefined, 'a password came back');
      assert.equal(typeof answer['createTime'], 'string');
    }
  });

  it('pages through the users with page_size 1 and the next page token', () => {
    const lists = succeeded('tandem.v1.UserService/ListUsers');
    const first = lists.find(({ exchange }) => exchange.request['pageSize'] === 1 && !exchange.request['pageToken']);
    assert.ok(first, 'no ListUsers with pageSize 1 and no token');
    const firstUsers = asList(first.answer['users'], 'users');
    const token = first.answer['nextPageToken'];
    assert.equal(firstUsers.length, 1);
    assert.ok(typeof token === 'string' && token !== '', 'the first page has no next page token');
    const second = lists.find(({ exchange }) => exchange.request['pageToken'] === token);
    assert.ok(second, 'the next page token was never sent');
    const secondUsers = asList(second.answer['users'], 'users');
    assert.equal(secondUsers.length, 1);
    assert.notEqual(secondUsers[0]?.['id'], firstUsers[0]?.['id']);
  });

  it('updates only the field named in the mask, and refuses a stale etag with ABORTED', () => {
    const updates = callsOf('tandem.v1.UserService/UpdateUser');
    const masked = succeeded('tandem.v1.UserService/UpdateUser').find(
      ({ exchange }) => exchange.request['updateMask'] === 'email',
    );
    assert.ok(masked, 'no successful UpdateUser with updateMask "email"');
    const sent = asJson(masked.exchange.request['user'], 'user');
    assert.equal(masked.answer['email'], sent['email']);
    assert.notEqual(masked.answer['etag'], sent['etag'], 'the etag did not change');
    const stale = updates.find((exchange) => exchange.index > masked.exchange.index);
    assert.ok(stale, 'no UpdateUser after the first');
    assert.equal(
      asJson(stale.request['user'], 'user')['etag'],
      sent['etag'],
      'the second update must reuse the old etag',
    );
    assert.equal(answerOf(stale)['code'], 'aborted');
    assert.ok(stale.text.includes('buf curl exited with 80'), stale.text.join('\n'));
  });

  it('creates an order, moves it to PAID, counts it on the user, and deletes it', () => {
    const created = succeeded('tandem.v1.OrderService/CreateOrder')[0];
    assert.ok(created, 'no order created');
    const order = created.answer;
    assert.equal(order['status'], 'ORDER_STATUS_PENDING');
    assert.equal(order['userId'], asJson(created.exchange.request['order'], 'order')['userId']);
    assert.equal(succeeded('tandem.v1.OrderService/GetOrder')[0]?.answer['id'], order['id']);
    const listed = asList(succeeded('tandem.v1.OrderService/ListOrders')[0]?.answer['orders'], 'orders');
    assert.deepEqual(
      listed.map((item) => item['id']),
      [order['id']],
    );
    assert.equal(succeeded('tandem.v1.OrderService/UpdateOrder')[0]?.answer['status'], 'ORDER_STATUS_PAID');
    const userAfter = succeeded('tandem.v1.UserService/GetUser').find(
      ({ exchange }) => exchange.index > created.exchange.index && exchange.request['id'] === order['userId'],
    );
    assert.ok(userAfter, 'the user was not read after its order');
    assert.equal(userAfter.answer['orderCount'], '1');
    assert.deepEqual(answerOf(callsOf('tandem.v1.OrderService/DeleteOrder')[0]!), {});
  });

  it('shows errors with their google.rpc details and exit codes', () => {
    const errors = failures();
    assert.deepEqual(
      errors.map((error) => error['code']),
      ['aborted', 'invalid_argument', 'failed_precondition'],
    );
    for (const error of errors) {
      const types = asList(error['details'], 'details').map((detail) => detail['type']);
      assert.ok(types.includes('google.rpc.ErrorInfo'), `no ErrorInfo in ${JSON.stringify(error)}`);
      if (error['code'] === 'invalid_argument') assert.ok(types.includes('google.rpc.BadRequest'));
    }
    const exits = transcript.exchanges.flatMap((exchange) => exchange.text);
    assert.deepEqual(exits, ['buf curl exited with 80', 'buf curl exited with 24', 'buf curl exited with 72']);
  });

  it('soft-deletes a user (Get and List with show_deleted still see it) and undeletes it', () => {
    const deleted = succeeded('tandem.v1.UserService/DeleteUser')[0];
    assert.ok(deleted, 'no user deleted');
    const id = deleted.answer['id'];
    assert.equal(typeof deleted.answer['deleteTime'], 'string', 'DeleteUser did not set deleteTime');
    const shown = succeeded('tandem.v1.UserService/ListUsers').find(
      ({ exchange }) => exchange.index > deleted.exchange.index && exchange.request['showDeleted'] === true,
    );
    const listedUser = asList(shown?.answer['users'], 'users').find((user) => user['id'] === id);
    assert.equal(typeof listedUser?.['deleteTime'], 'string', 'show_deleted did not list the deleted user');
    const restored = succeeded('tandem.v1.UserService/UndeleteUser').find(({ answer }) => answer['id'] === id);
    assert.ok(restored && restored.exchange.index > deleted.exchange.index, 'the user was not undeleted');
    assert.equal(restored.answer['deleteTime'], undefined);
  });
});

describe('the README examples with auth on', () => {
  let service: TestDataService;
  before(async () => {
    service = await startTestDataService('sqlite', { 'auth.clientTokens': [CLIENT_TOKEN] });
  });
  after(async () => {
    await service.destroy();
  });

  it('run through when TANDEM_TOKEN holds a client token', async function () {
    this.timeout(RUN_TIMEOUT_MS + 10_000);
    const run = await runScript(pointAt(readmeScript(), service.address), { TANDEM_TOKEN: CLIENT_TOKEN });
    assert.equal(run.code, 0, `the README session failed with a token:\n${describeRun(run)}`);
    const created = parseTranscript(run.stdout).exchanges.find(
      (exchange) => exchange.method === 'tandem.v1.UserService/CreateUser',
    );
    assert.equal(typeof created?.answers[0]?.['id'], 'string');
  });

  it('stop at the first call that needs a token when TANDEM_TOKEN is not set', async () => {
    const run = await runScript(pointAt(readmeScript(), service.address));
    assert.equal(run.code, 16 << 3, `UNAUTHENTICATED expected:\n${describeRun(run)}`);
    assert.match(run.stderr, /unauthenticated/);
  });
});

describe('the README job examples', () => {
  let service: TestDataService;
  let worker: WorkerService;
  let mailDir: string;
  let transcript: Transcript;

  const jobCalls = (method: string): Exchange[] =>
    transcript.exchanges.filter((exchange) => exchange.method === `tandem.v1.${method}`);
  const states = (exchange: Exchange | undefined): unknown[] =>
    (exchange?.answers ?? []).map((answer) => answer['toState']);

  before(async function () {
    this.timeout(RUN_TIMEOUT_MS + 30_000);
    service = await startTestDataService('sqlite');
    mailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-readme-mail-'));
    worker = await startTestWorker(service, [
      createEmailSendJob({ smtpUrl: '', from: 'Tandem <t@example.com>', mailDir }),
    ]);
    const run = await runScript(pointAt(readmeScript('jobs'), service.address));
    assert.equal(run.code, 0, `the README job session failed:\n${describeRun(run)}`);
    transcript = parseTranscript(run.stdout);
  });
  after(async () => {
    await worker.stop();
    await service.destroy();
    fs.rmSync(mailDir, { recursive: true, force: true });
  });

  it('enqueues once per idempotency key and watches the job until it succeeded', () => {
    const [first, second] = jobCalls('JobService/Enqueue');
    assert.equal(first?.answers[0]?.['id'], second?.answers[0]?.['id']);
    const watched = states(jobCalls('JobService/WatchJob')[0]);
    assert.equal(watched[0], 'JOB_STATE_PENDING');
    assert.equal(watched[watched.length - 1], 'JOB_STATE_SUCCEEDED');
    assert.equal(jobCalls('JobService/GetJob')[0]?.answers[0]?.['state'], 'JOB_STATE_SUCCEEDED');
    assert.ok(fs.existsSync(path.join(mailDir, `${String(first?.answers[0]?.['id'])}.eml`)));
  });

  it('lists the events, the jobs and the counts', () => {
    const events = jobCalls('JobService/ListJobEvents')[0]?.answers[0]?.['events'];
    assert.ok(Array.isArray(events) && events.length >= 4);
    const listed = jobCalls('JobService/ListJobs')[0]?.answers[0]?.['jobs'];
    assert.ok(Array.isArray(listed) && listed.length >= 1);
    const counts = jobCalls('JobService/CountJobs')[0]?.answers[0]?.['counts'];
    assert.ok(
      Array.isArray(counts) &&
        counts.some((entry: Json) => entry['type'] === 'email.send' && entry['state'] === 'JOB_STATE_SUCCEEDED'),
    );
  });

  it('cancels a held job, retries it, and runs it once the type is resumed', () => {
    assert.equal(jobCalls('JobService/CancelJob')[0]?.answers[0]?.['state'], 'JOB_STATE_CANCELLED');
    assert.equal(jobCalls('JobService/RetryJob')[0]?.answers[0]?.['state'], 'JOB_STATE_PENDING');
    const watched = states(jobCalls('JobService/WatchJob')[1]);
    assert.ok(watched.includes('JOB_STATE_CANCELLED'), 'the watch replays the cancellation');
    assert.equal(watched[watched.length - 1], 'JOB_STATE_SUCCEEDED', 'a retried job is watched to its new end');
    const batch = jobCalls('JobService/BatchEnqueue')[0]?.answers[0]?.['jobs'];
    assert.ok(Array.isArray(batch) && batch.length === 2);
  });
});
