import assert from 'node:assert/strict';
import { createGroupCommit } from '../../services/data/src/domain/group-commit';

interface Report {
  readonly jobId: string;
}

/** One call of `record`, answered when the test says so. */
interface RecordCall {
  readonly jobIds: readonly string[];
  answer(): void;
  fail(error: Error): void;
}

/** A `record` that keeps each call open until the test answers it; it answers `done:<jobId>` per report. */
function createFakeRecord() {
  const calls: RecordCall[] = [];
  const record = (reports: readonly Report[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const jobIds = reports.map((report) => report.jobId);
      calls.push({ jobIds, answer: () => resolve(jobIds.map((jobId) => `done:${jobId}`)), fail: reject });
    });
  return { calls, record };
}

function batch(...jobIds: string[]): Report[] {
  return jobIds.map((jobId) => ({ jobId }));
}

/** Lets pending promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type Outcome = { readonly ok: true; readonly value: string[] } | { readonly ok: false; readonly error: unknown };

function outcomeOf(promise: Promise<string[]>): Promise<Outcome> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

describe('group commit', () => {
  it('records a batch at once when no round runs', async () => {
    const { calls, record } = createFakeRecord();
    const submit = createGroupCommit(record, { maxItems: 100, keyOf: (report) => report.jobId });

    const first = submit(batch('a', 'b'));
    await settle();

    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.jobIds, ['a', 'b']);
    calls[0].answer();
    assert.deepEqual(await first, ['done:a', 'done:b']);
  });

  it('records the batches that arrive during a round together in the next one, each answered its own outcomes', async () => {
    const { calls, record } = createFakeRecord();
    const submit = createGroupCommit(record, { maxItems: 100, keyOf: (report) => report.jobId });
    const first = submit(batch('a'));
    await settle();

    const second = submit(batch('b', 'c'));
    const third = submit(batch('d'));
    await settle();
    assert.equal(calls.length, 1, 'nothing more is recorded while a round runs');
    calls[0]?.answer();
    await settle();

    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]?.jobIds, ['b', 'c', 'd']);
    calls[1].answer();
    assert.deepEqual(await Promise.all([first, second, third]), [['done:a'], ['done:b', 'done:c'], ['done:d']]);
  });

  it('keeps a batch that names a job of the round, or would pass the limit, for the round after', async () => {
    const { calls, record } = createFakeRecord();
    const submit = createGroupCommit(record, { maxItems: 3, keyOf: (report) => report.jobId });
    const first = submit(batch('a'));
    await settle();

    const waiting = [submit(batch('b', 'c')), submit(batch('c')), submit(batch('d', 'e')), submit(batch('f'))];
    calls[0]?.answer();
    await settle();
    assert.deepEqual(calls[1]?.jobIds, ['b', 'c', 'f']);
    calls[1].answer();
    await settle();
    assert.deepEqual(calls[2]?.jobIds, ['c', 'd', 'e']);
    calls[2].answer();

    assert.deepEqual(await Promise.all([first, ...waiting]), [
      ['done:a'],
      ['done:b', 'done:c'],
      ['done:c'],
      ['done:d', 'done:e'],
      ['done:f'],
    ]);
  });

  it('when a round of several batches fails, records each batch alone so that only the failing one fails', async () => {
    const { calls, record } = createFakeRecord();
    const submit = createGroupCommit(record, { maxItems: 100, keyOf: (report) => report.jobId });
    const first = submit(batch('a'));
    await settle();
    const good = outcomeOf(submit(batch('b')));
    const bad = outcomeOf(submit(batch('poison')));
    calls[0]?.answer();
    await settle();

    assert.deepEqual(calls[1]?.jobIds, ['b', 'poison']);
    calls[1].fail(new Error('the database refused the round'));
    await settle();
    assert.deepEqual(calls[2]?.jobIds, ['b']);
    calls[2].answer();
    await settle();
    assert.deepEqual(calls[3]?.jobIds, ['poison']);
    calls[3].fail(new Error('the database refused poison'));

    assert.deepEqual(await first, ['done:a']);
    assert.deepEqual(await good, { ok: true, value: ['done:b'] });
    const refused = await bad;
    assert.ok(!refused.ok);
    assert.match(String(refused.error), /refused poison/);
  });

  it('when a round of one batch fails, fails that batch with its error and goes on with the next', async () => {
    const { calls, record } = createFakeRecord();
    const submit = createGroupCommit(record, { maxItems: 100, keyOf: (report) => report.jobId });
    const failing = outcomeOf(submit(batch('a')));
    await settle();
    const next = submit(batch('b'));
    calls[0]?.fail(new Error('connection lost'));
    await settle();

    assert.equal(calls.length, 2, 'a single failed batch is not recorded again');
    assert.deepEqual(calls[1]?.jobIds, ['b']);
    calls[1].answer();
    const outcome = await failing;
    assert.ok(!outcome.ok);
    assert.match(String(outcome.error), /connection lost/);
    assert.deepEqual(await next, ['done:b']);
  });
});
