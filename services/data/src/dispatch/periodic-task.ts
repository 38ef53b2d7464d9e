import type { Logger } from '../../../shared/logger';

export interface PeriodicTask {
  /** Runs the task as soon as the current run (if any) ends, instead of at the next tick. */
  wake(): void;
  /** Stops scheduling and waits for the run in flight. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs`, never two runs at once. A run that answers true (more work is waiting)
 * is followed at once by another. Failures are logged once per outage and retried at the next tick.
 */
export function startPeriodicTask(
  name: string,
  intervalMs: number,
  run: () => Promise<boolean>,
  log: Logger,
): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let woken = false;
  let stopped = false;
  let failing = false;

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    clearImmediate(immediate);
    // setTimeout(0) waits at least 1 ms: a run asked for at once (after an enqueue) starts on the next turn.
    if (delayMs === 0) immediate = setImmediate(tick);
    else timer = setTimeout(tick, delayMs);
  }

  function tick(): void {
    if (stopped || busy) return;
    busy = true;
    woken = false;
    running = run()
      .then(
        (more) => {
          if (failing) log.info({ task: name }, 'recovered');
          failing = false;
          return more;
        },
        (error: unknown) => {
          if (!failing) log.warn({ task: name, err: error }, 'failed; retrying at every tick until it recovers');
          failing = true;
          return false;
        },
      )
      .then((more) => {
        busy = false;
        schedule(more || woken ? 0 : intervalMs);
      });
  }

  schedule(0);
  return {
    wake: () => {
      if (busy) woken = true;
      else schedule(0);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      clearImmediate(immediate);
      await running;
    },
  };
}
