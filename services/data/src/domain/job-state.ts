export const JOB_STATES = ['pending', 'queued', 'running', 'succeeded', 'retrying', 'dead', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'dead', 'cancelled'];

/** Every move a job can make, from which states, to which state (DESIGN §2). */
export const TRANSITIONS = {
  /** The dispatcher handed it to Redis. */
  dispatch: { from: ['pending', 'retrying'], to: 'queued' },
  /**
   * A worker claimed the attempt. From pending and retrying too: the dispatcher writes Redis before it
   * commits `queued`, so a fast worker can claim a job whose dispatch has not been recorded yet.
   */
  start: { from: ['pending', 'queued', 'retrying'], to: 'running' },
  complete: { from: ['running'], to: 'succeeded' },
  retryLater: { from: ['running'], to: 'retrying' },
  die: { from: ['running'], to: 'dead' },
  /** The worker gave the attempt up (shutdown): it runs again without spending an attempt. */
  release: { from: ['running'], to: 'pending' },
  cancel: { from: ['pending', 'queued', 'retrying'], to: 'cancelled' },
  /** The handler of a job whose cancellation was requested stopped. */
  cancelRunning: { from: ['running'], to: 'cancelled' },
  revive: { from: ['dead', 'cancelled'], to: 'pending' },
} as const satisfies Record<string, { from: readonly JobState[]; to: JobState }>;

export type TransitionName = keyof typeof TRANSITIONS;

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canMove(name: TransitionName, from: JobState): boolean {
  return (TRANSITIONS[name].from as readonly JobState[]).includes(from);
}
