import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { status as Code } from '@grpc/grpc-js';
import { retryDelayMs, type BackoffPolicy } from '../../services/data/src/domain/backoff';
import {
  codeOf,
  REPORT_RETRY_CODES,
  TRANSIENT_CODES,
  withRetry,
  type RetryOptions,
} from '../../services/shared/retry-policy';

/** An error shaped like a grpc-js ServiceError. */
function grpcError(code: Code): Error & { code: Code } {
  return Object.assign(new Error(`${Code[code]}: test`), { code });
}

/** A call that fails with `codes` in turn, then answers `done`; counts how often it ran. */
function failingThen(codes: readonly Code[]) {
  const call = async (): Promise<string> => {
    const code = codes[call.calls];
    call.calls += 1;
    await Promise.resolve();
    if (code !== undefined) throw grpcError(code);
    return 'done';
  };
  call.calls = 0;
  return call;
}

const FAST: RetryOptions = { codes: TRANSIENT_CODES, firstDelayMs: 1, maxDelayMs: 5 };

describe('retry backoff bounds', () => {
  it('never waits longer than the cap, however many attempts failed', () => {
    const policy: BackoffPolicy = { kind: 'exponential', baseMs: 1000, capMs: 60_000, jitter: 0 };

    assert.equal(retryDelayMs(policy, 60, 0), 60_000);
    assert.equal(retryDelayMs(policy, 2000, 0), 60_000);
  });

  it('keeps every jittered delay within ((1 - jitter) * d, d]', () => {
    const policy: BackoffPolicy = { kind: 'fixed', baseMs: 10_000, capMs: 10_000, jitter: 0.2 };

    for (const random of [0, 0.25, 0.5, 0.75, 0.999]) {
      const delay = retryDelayMs(policy, 1, random);
      assert.ok(delay > 8000 && delay <= 10_000, `${delay} for ${random}`);
    }
  });
});

describe('codeOf', () => {
  it('answers the status code of a gRPC error', () => {
    assert.equal(codeOf(grpcError(Code.UNAVAILABLE)), Code.UNAVAILABLE);
    assert.equal(codeOf({ code: Code.OK }), Code.OK);
  });

  it('answers undefined for anything that is not a gRPC error', () => {
    for (const value of [new Error('plain'), null, undefined, 'UNAVAILABLE', { code: '14' }, { code: 99 }]) {
      assert.equal(codeOf(value), undefined, inspect(value));
    }
    assert.equal(codeOf(Object.assign(new Error('node'), { code: 'ECONNREFUSED' })), undefined);
  });
});

describe('withRetry', () => {
  it('retries UNAVAILABLE and DEADLINE_EXCEEDED, then answers the first success', async () => {
    const call = failingThen([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.UNAVAILABLE]);
    const delays: number[] = [];

    const answer = await withRetry(call, { ...FAST, onRetry: (_error, delayMs) => delays.push(delayMs) });

    assert.equal(answer, 'done');
    assert.equal(call.calls, 4);
    assert.equal(delays.length, 3);
    for (const delay of delays) assert.ok(delay >= 0 && delay <= FAST.maxDelayMs, String(delay));
  });

  it('draws each delay between half and all of a ceiling that doubles up to the maximum', async () => {
    const call = failingThen(Array<Code>(8).fill(Code.UNAVAILABLE));
    const delays: number[] = [];

    await withRetry(call, {
      codes: REPORT_RETRY_CODES,
      firstDelayMs: 2,
      maxDelayMs: 16,
      onRetry: (_error, delayMs) => delays.push(delayMs),
    });

    delays.forEach((delay, attempt) => {
      const ceiling = Math.min(16, 2 * 2 ** attempt);
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `delay ${delay} of retry ${attempt} (ceiling ${ceiling})`);
    });
  });

  it('does not retry ABORTED with REPORT_RETRY_CODES: a stale attempt stays stale', async () => {
    const call = failingThen([Code.ABORTED]);

    await assert.rejects(
      withRetry(call, { ...FAST, codes: REPORT_RETRY_CODES }),
      (error) => codeOf(error) === Code.ABORTED,
    );
    assert.equal(call.calls, 1);
  });

  it('retries ABORTED with TRANSIENT_CODES', async () => {
    const call = failingThen([Code.ABORTED]);

    assert.equal(await withRetry(call, FAST), 'done');
    assert.equal(call.calls, 2);
  });

  it('throws at once an error that carries no status code or a final one', async () => {
    for (const error of [new Error('not grpc'), grpcError(Code.INVALID_ARGUMENT), grpcError(Code.NOT_FOUND)]) {
      let calls = 0;
      const call = (): Promise<never> => {
        calls += 1;
        return Promise.reject(error);
      };

      await assert.rejects(withRetry(call, FAST), (thrown) => thrown === error);
      assert.equal(calls, 1, error.message);
    }
  });

  it('stops waiting and throws the last error as soon as its signal aborts during a backoff', async () => {
    const controller = new AbortController();
    const call = failingThen(Array<Code>(100).fill(Code.UNAVAILABLE));
    const started = Date.now();
    const timer = setTimeout(() => {
      controller.abort();
    }, 20);

    const retrying = withRetry(call, {
      codes: REPORT_RETRY_CODES,
      firstDelayMs: 60_000,
      maxDelayMs: 60_000,
      signal: controller.signal,
    });

    await assert.rejects(retrying, (error) => codeOf(error) === Code.UNAVAILABLE);
    clearTimeout(timer);
    assert.ok(Date.now() - started < 1000, 'the abort must cut the 30-60 s backoff short');
    assert.equal(call.calls, 2);
  });

  it('does not start a backoff when the signal aborted just before it', async () => {
    const controller = new AbortController();
    const call = failingThen(Array<Code>(100).fill(Code.UNAVAILABLE));
    const started = Date.now();

    const retrying = withRetry(call, {
      codes: REPORT_RETRY_CODES,
      firstDelayMs: 60_000,
      maxDelayMs: 60_000,
      signal: controller.signal,
      onRetry: () => {
        controller.abort();
      },
    });

    await assert.rejects(retrying, (error) => codeOf(error) === Code.UNAVAILABLE);
    assert.ok(Date.now() - started < 1000, 'an aborted signal must not leave a 30-60 s sleep behind');
    assert.equal(call.calls, 2);
  });

  it('does not call again once the signal has aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const call = failingThen([Code.UNAVAILABLE]);

    await assert.rejects(withRetry(call, { ...FAST, signal: controller.signal }));
    assert.equal(call.calls, 1);
  });
});
