import assert from 'node:assert/strict';
import { status as Code } from '@grpc/grpc-js';
import { Status } from '../../proto/gen/google/rpc/status';
import {
  ClaimedAttempt,
  type AttemptReport,
  type AttemptReportResult,
  type BatchReportAttemptsRequest,
  type BatchReportAttemptsResponse,
} from '../../proto/gen/tandem/v1/worker';
import {
  createReportBatcher,
  ReportRefusedError,
  type AttemptReporter,
} from '../../services/worker/src/report-batcher';

const WORKER_ID = 'batcher-test-worker';
/** More turns than the batcher ever needs between an answer and its next call. */
const MAX_TURNS = 10;

/** One call the fake `send` received, answered when the test says so. */
interface SentCall {
  readonly request: BatchReportAttemptsRequest;
  answer(results: AttemptReportResult[]): void;
  failWith(error: Error): void;
}

/** A `send` that records each request and answers it only when the test calls `answer` or `failWith`. */
function createFakeSend() {
  const calls: SentCall[] = [];
  const send = (request: BatchReportAttemptsRequest): Promise<BatchReportAttemptsResponse> =>
    new Promise((resolve, reject) => {
      calls.push({ request, answer: (results) => resolve({ results }), failWith: reject });
    });
  return { calls, send };
}

/** Lets one turn of the event loop pass: every setImmediate queued before it has run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets the event loop turn until `calls` holds `count` calls; fails if it never does. */
async function callsReach(calls: readonly SentCall[], count: number): Promise<void> {
  for (let turns = 0; turns < MAX_TURNS && calls.length < count; turns += 1) await turn();
  assert.equal(calls.length, count, `expected call ${count} to have been sent`);
}

/** Lets the event loop turn a while and checks that no further call went out. */
async function noCallBeyond(calls: readonly SentCall[], count: number): Promise<void> {
  for (let turns = 0; turns < MAX_TURNS; turns += 1) await turn();
  assert.equal(calls.length, count, 'no further call may be sent');
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** How a report's promise ends, collected at once so that a rejection is never unhandled. */
function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** The error a report was rejected with; fails if it resolved. */
function errorOf(outcome: Outcome<unknown> | undefined): unknown {
  assert.ok(outcome, 'no such report');
  if (outcome.ok) assert.fail(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

function jobIdOf({ report }: AttemptReport): string {
  assert.ok(report, 'every report sent has a kind');
  return report.value.jobId;
}

function jobIdsOf(call: SentCall | undefined): string[] {
  assert.ok(call);
  return call.request.reports.map(jobIdOf);
}

function claimed(jobId: string): AttemptReportResult {
  return {
    result: {
      $case: 'claimed',
      value: ClaimedAttempt.fromPartial({
        type: 'batcher.test',
        payload: { of: jobId },
        timeout: { seconds: '30', nanos: 0 },
        heartbeatInterval: { seconds: '7', nanos: 500_000_000 },
      }),
    },
  };
}

const RECORDED: AttemptReportResult = { result: { $case: 'recorded', value: {} } };

function refused(code: Code, message: string): AttemptReportResult {
  return { result: { $case: 'error', value: Status.fromPartial({ code, message }) } };
}

/** What the data service answers when it records every report: `claimed` for a start, else `recorded`. */
function allRecorded(call: SentCall | undefined): AttemptReportResult[] {
  assert.ok(call);
  return call.request.reports.map((entry) => (entry.report?.$case === 'start' ? claimed(jobIdOf(entry)) : RECORDED));
}

function complete(reporter: AttemptReporter, jobId: string): Promise<Outcome<void>> {
  return outcomeOf(reporter.complete({ jobId, attempt: 1, workerId: WORKER_ID, result: { ok: true } }));
}

function fail(reporter: AttemptReporter, jobId: string): Promise<Outcome<void>> {
  return outcomeOf(
    reporter.fail({ jobId, attempt: 1, workerId: WORKER_ID, error: 'boom', retryable: true, released: false }),
  );
}

function start(reporter: AttemptReporter, jobId: string): Promise<Outcome<ClaimedAttempt>> {
  return outcomeOf(reporter.start({ jobId, attempt: 1, workerId: WORKER_ID }));
}

describe('report batcher', () => {
  it('sends the reports of one turn together in one call, on the next turn, in the order they came', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);

    const reports = [start(reporter, 'job-a'), complete(reporter, 'job-b'), fail(reporter, 'job-c')];
    assert.equal(calls.length, 0, 'nothing is sent before the turn ends');
    await callsReach(calls, 1);
    const [call] = calls;
    assert.ok(call);
    call.answer(allRecorded(call));
    const outcomes = await Promise.all(reports);

    assert.deepEqual(
      call.request.reports.map((entry) => entry.report?.$case),
      ['start', 'complete', 'fail'],
    );
    assert.deepEqual(jobIdsOf(call), ['job-a', 'job-b', 'job-c']);
    assert.deepEqual(call.request.reports[2]?.report?.value, {
      jobId: 'job-c',
      attempt: 1,
      workerId: WORKER_ID,
      error: 'boom',
      retryable: true,
      released: false,
    });
    assert.deepEqual(
      outcomes.map((outcome) => outcome.ok),
      [true, true, true],
    );
    await noCallBeyond(calls, 1);
  });

  it('holds reports made while a call is in flight and sends them together once it returns', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const first = complete(reporter, 'job-1');
    await callsReach(calls, 1);

    const later = [complete(reporter, 'job-2'), complete(reporter, 'job-3')];
    await turn();
    const laterStill = complete(reporter, 'job-4');
    await noCallBeyond(calls, 1);
    calls[0]?.answer(allRecorded(calls[0]));
    await callsReach(calls, 2);
    calls[1]?.answer(allRecorded(calls[1]));

    assert.deepEqual(jobIdsOf(calls[0]), ['job-1']);
    assert.deepEqual(jobIdsOf(calls[1]), ['job-2', 'job-3', 'job-4']);
    assert.deepEqual(
      (await Promise.all([first, ...later, laterStill])).map((outcome) => outcome.ok),
      [true, true, true, true],
    );
    await noCallBeyond(calls, 2);
  });

  it('sends a start at once while only a call without starts is in flight, never beside a call with starts', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const first = complete(reporter, 'job-1');
    await callsReach(calls, 1);

    const claim = start(reporter, 'job-2');
    const outcome = complete(reporter, 'job-3');
    await callsReach(calls, 2);
    const held = [start(reporter, 'job-4'), complete(reporter, 'job-5')];
    await noCallBeyond(calls, 2);
    calls[1]?.answer(allRecorded(calls[1]));
    await callsReach(calls, 3);
    calls[2]?.answer(allRecorded(calls[2]));
    calls[0]?.answer(allRecorded(calls[0]));

    assert.deepEqual(jobIdsOf(calls[0]), ['job-1']);
    assert.deepEqual(jobIdsOf(calls[1]), ['job-2', 'job-3']);
    assert.deepEqual(jobIdsOf(calls[2]), ['job-4', 'job-5']);
    assert.deepEqual(
      (await Promise.all([first, claim, outcome, ...held])).map((entry) => entry.ok),
      [true, true, true, true, true],
    );
  });

  it('sends a second report of the same job in a later call, after the first call returns', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);

    const startA = start(reporter, 'job-a');
    const startB = start(reporter, 'job-b');
    const completeA = complete(reporter, 'job-a');
    await callsReach(calls, 1);
    await noCallBeyond(calls, 1);
    calls[0]?.answer(allRecorded(calls[0]));
    await callsReach(calls, 2);
    calls[1]?.answer(allRecorded(calls[1]));

    assert.deepEqual(jobIdsOf(calls[0]), ['job-a', 'job-b']);
    assert.deepEqual(jobIdsOf(calls[1]), ['job-a']);
    assert.equal(calls[1]?.request.reports[0]?.report?.$case, 'complete');
    assert.deepEqual(
      (await Promise.all([startA, startB, completeA])).map((outcome) => outcome.ok),
      [true, true, true],
    );
  });

  it('puts at most maxBatch reports in a call and sends the rest, in order, in the next ones', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 2);

    const reports = ['job-1', 'job-2', 'job-3', 'job-4', 'job-5'].map((jobId) => complete(reporter, jobId));
    for (let count = 1; count <= 3; count += 1) {
      await callsReach(calls, count);
      await noCallBeyond(calls, count);
      const call = calls[count - 1];
      call?.answer(allRecorded(call));
    }

    assert.deepEqual(calls.map(jobIdsOf), [['job-1', 'job-2'], ['job-3', 'job-4'], ['job-5']]);
    assert.ok((await Promise.all(reports)).every((outcome) => outcome.ok));
    await noCallBeyond(calls, 3);
  });

  it('rejects only a refused report, with a ReportRefusedError of its code, and resolves the others', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const reports = [complete(reporter, 'job-1'), complete(reporter, 'job-2'), start(reporter, 'job-3')];
    await callsReach(calls, 1);

    calls[0]?.answer([RECORDED, refused(Code.ABORTED, 'attempt 1 of job-2 is no longer current'), claimed('job-3')]);
    const [first, second, third] = await Promise.all(reports);

    assert.equal(first?.ok, true);
    assert.equal(third?.ok, true);
    const error = errorOf(second);
    assert.ok(error instanceof ReportRefusedError, `expected a ReportRefusedError, got ${String(error)}`);
    assert.equal(error.code, Code.ABORTED);
    assert.equal(error.name, 'ReportRefusedError');
    assert.match(error.message, /no longer current/);
  });

  it('gives a refused start the code of its status too', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const report = start(reporter, 'job-1');
    await callsReach(calls, 1);

    calls[0]?.answer([refused(Code.FAILED_PRECONDITION, 'job job-1 is cancelled; skip it')]);
    const outcome = await report;

    const error = errorOf(outcome);
    assert.ok(error instanceof ReportRefusedError);
    assert.equal(error.code, Code.FAILED_PRECONDITION);
  });

  it('when a call fails, rejects every report it carried with its error and still sends the next batch', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const failedCall = [start(reporter, 'job-1'), complete(reporter, 'job-2'), fail(reporter, 'job-3')];
    await callsReach(calls, 1);
    const next = complete(reporter, 'job-4');
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: Code.UNAVAILABLE });

    calls[0]?.failWith(unavailable);
    const outcomes = await Promise.all(failedCall);
    await callsReach(calls, 2);
    calls[1]?.answer(allRecorded(calls[1]));

    for (const outcome of outcomes) assert.equal(errorOf(outcome), unavailable, 'the call error itself, not a wrapper');
    assert.deepEqual(jobIdsOf(calls[1]), ['job-4']);
    assert.deepEqual(await next, { ok: true, value: undefined });
  });

  it('resolves start() with the claimed attempt the data service answered', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const report = start(reporter, 'job-1');
    await callsReach(calls, 1);
    const answer = claimed('job-1');

    calls[0]?.answer([answer]);
    const outcome = await report;

    assert.deepEqual(calls[0]?.request.reports, [
      { report: { $case: 'start', value: { jobId: 'job-1', attempt: 1, workerId: WORKER_ID } } },
    ]);
    assert.ok(outcome.ok);
    assert.equal(answer.result?.$case, 'claimed');
    assert.deepEqual(outcome.value, answer.result.value);
    assert.deepEqual(outcome.value.payload, { of: 'job-1' });
    assert.deepEqual(outcome.value.heartbeatInterval, { seconds: '7', nanos: 500_000_000 });
  });

  it('rejects a report the answer has no result for, and a start answered with anything but claimed', async () => {
    const { calls, send } = createFakeSend();
    const reporter = createReportBatcher(send, 10);
    const reports = [start(reporter, 'job-1'), complete(reporter, 'job-2'), complete(reporter, 'job-3')];
    await callsReach(calls, 1);

    calls[0]?.answer([RECORDED, RECORDED]);
    const [startOutcome, answered, unanswered] = await Promise.all(reports);

    assert.equal(answered?.ok, true);
    const startError = errorOf(startOutcome);
    assert.ok(startError instanceof Error && !(startError instanceof ReportRefusedError));
    assert.match(startError.message, /answered a start with recorded/);
    const missing = errorOf(unanswered);
    assert.ok(missing instanceof Error);
    assert.match(missing.message, /no result for job job-3/);
  });
});
