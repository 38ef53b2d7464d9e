export interface BackoffPolicy {
  readonly kind: 'fixed' | 'exponential';
  readonly baseMs: number;
  readonly capMs: number;
  /** The share of each delay drawn at random, 0 to 1. */
  readonly jitter: number;
}

/**
 * The delay before the retry that follows the `failures`-th failed attempt (1 for the first). `random`
 * is in [0, 1): with jitter j the delay lands in ((1 - j) * d, d].
 */
export function retryDelayMs(policy: BackoffPolicy, failures: number, random: number): number {
  const raw = policy.kind === 'fixed' ? policy.baseMs : policy.baseMs * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(raw, policy.capMs);
  return Math.round(capped * (1 - policy.jitter * random));
}
