import { retryDelayMs, type BackoffPolicy } from './backoff';
import type { TransitionName } from './job-state';

export interface FailedAttempt {
  /** Attempts that failed before this one, since the job was accepted or revived. */
  readonly failedBefore: number;
  readonly maxAttempts: number;
  readonly retryable: boolean;
  readonly released: boolean;
  readonly cancelRequested: boolean;
}

export type FailureOutcome =
  | { readonly transition: 'retryLater'; readonly delayMs: number }
  | { readonly transition: Exclude<TransitionName, 'retryLater'> };

/**
 * Where a failed attempt sends its job: cancelled if cancellation was asked, back to pending if the
 * worker released it, retrying after the backoff while attempts are left and the error is retryable,
 * else dead.
 */
export function decideFailure(failed: FailedAttempt, backoff: BackoffPolicy, random: number): FailureOutcome {
  if (failed.cancelRequested) return { transition: 'cancelRunning' };
  if (failed.released) return { transition: 'release' };
  const failures = failed.failedBefore + 1;
  if (!failed.retryable || failures >= failed.maxAttempts) return { transition: 'die' };
  return { transition: 'retryLater', delayMs: retryDelayMs(backoff, failures, random) };
}
