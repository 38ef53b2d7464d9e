import assert from 'node:assert/strict';
import { retryDelayMs, type BackoffPolicy } from '../../services/data/src/domain/backoff';
import { decideFailure } from '../../services/data/src/domain/job-failure';
import { canMove, isTerminal, JOB_STATES, TRANSITIONS } from '../../services/data/src/domain/job-state';

const EXPONENTIAL: BackoffPolicy = { kind: 'exponential', baseMs: 1000, capMs: 10_000, jitter: 0 };

describe('job state machine', () => {
  it('never moves a job out of succeeded', () => {
    for (const name of Object.keys(TRANSITIONS) as Array<keyof typeof TRANSITIONS>) {
      assert.equal(canMove(name, 'succeeded'), false, name);
    }
  });

  it('lets only Retry move dead and cancelled jobs', () => {
    for (const state of ['dead', 'cancelled'] as const) {
      const moves = (Object.keys(TRANSITIONS) as Array<keyof typeof TRANSITIONS>).filter((name) =>
        canMove(name, state),
      );
      assert.deepEqual(moves, ['revive']);
    }
  });

  it('cancels waiting jobs at once but running ones only through their handler', () => {
    assert.deepEqual(
      JOB_STATES.filter((state) => canMove('cancel', state)),
      ['pending', 'queued', 'retrying'],
    );
    assert.equal(canMove('cancelRunning', 'running'), true);
    assert.equal(canMove('cancel', 'running'), false);
  });

  it('calls exactly succeeded, dead and cancelled terminal', () => {
    assert.deepEqual(
      JOB_STATES.filter((state) => isTerminal(state)),
      ['succeeded', 'dead', 'cancelled'],
    );
  });
});

describe('retry backoff', () => {
  it('doubles an exponential delay per failure up to the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((failures) => retryDelayMs(EXPONENTIAL, failures, 0.5)),
      [1000, 2000, 4000, 8000, 10_000],
    );
  });

  it('keeps a fixed delay', () => {
    const fixed: BackoffPolicy = { ...EXPONENTIAL, kind: 'fixed' };
    assert.deepEqual(
      [1, 4].map((failures) => retryDelayMs(fixed, failures, 0.9)),
      [1000, 1000],
    );
  });

  it('draws a jittered delay within (1 - jitter) of the full one', () => {
    const jittered: BackoffPolicy = { ...EXPONENTIAL, jitter: 0.2 };
    assert.equal(retryDelayMs(jittered, 1, 0), 1000);
    assert.equal(retryDelayMs(jittered, 1, 0.999_999), 800);
  });
});

describe('failure decisions', () => {
  const base = { failedBefore: 0, maxAttempts: 3, retryable: true, released: false, cancelRequested: false };

  it('retries after the backoff while attempts are left', () => {
    assert.deepEqual(decideFailure({ ...base, failedBefore: 1 }, EXPONENTIAL, 0), {
      transition: 'retryLater',
      delayMs: 2000,
    });
  });

  it('declares the job dead when the last attempt fails', () => {
    assert.deepEqual(decideFailure({ ...base, failedBefore: 2 }, EXPONENTIAL, 0), { transition: 'die' });
  });

  it('declares the job dead at once for a non-retryable error', () => {
    assert.deepEqual(decideFailure({ ...base, retryable: false }, EXPONENTIAL, 0), { transition: 'die' });
  });

  it('cancels when cancellation was requested, whatever the error', () => {
    assert.deepEqual(decideFailure({ ...base, cancelRequested: true, retryable: false }, EXPONENTIAL, 0), {
      transition: 'cancelRunning',
    });
  });

  it('releases without spending an attempt on shutdown', () => {
    assert.deepEqual(decideFailure({ ...base, failedBefore: 2, released: true }, EXPONENTIAL, 0), {
      transition: 'release',
    });
  });
});
