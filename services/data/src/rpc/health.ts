import type { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../../../shared/logger';

export interface HealthMonitor {
  /** Sets a named entry that does not follow the database (such as dispatch to Redis). */
  set(name: string, serving: boolean): void;
  /** Marks every service NOT_SERVING, for a server on its way down. */
  markShuttingDown(): void;
  stop(): void;
}

/**
 * grpc.health.v1.Health: the overall status ("") and each service's follow the database, checked every
 * `intervalMs` (Enqueue keeps working without Redis, so Redis does not make the server unhealthy). The
 * `independent` entries are set by their owners.
 */
export function addHealth(
  server: Server,
  services: readonly string[],
  independent: readonly string[],
  probe: () => Promise<void>,
  intervalMs: number,
  log: Logger,
): HealthMonitor {
  const names = ['', ...services];
  const health = new HealthImplementation(
    Object.fromEntries([...names, ...independent].map((name) => [name, 'NOT_SERVING' as const])),
  );
  health.addToServer(server);
  let serving = false;
  let stopped = false;

  const setAll = (status: 'SERVING' | 'NOT_SERVING'): void => {
    for (const name of names) health.setStatus(name, status);
  };

  async function check(): Promise<void> {
    const ok = await probe().then(
      () => true,
      (error: unknown) => {
        if (serving) log.warn({ err: error }, 'database probe failed; health is NOT_SERVING');
        return false;
      },
    );
    if (stopped) return;
    if (ok && !serving) log.info('database answers; health is SERVING');
    serving = ok;
    setAll(ok ? 'SERVING' : 'NOT_SERVING');
  }

  let running = check();
  const timer = setInterval(() => {
    running = running.then(check);
  }, intervalMs);
  timer.unref();

  return {
    set: (name, isServing) => {
      if (!stopped) health.setStatus(name, isServing ? 'SERVING' : 'NOT_SERVING');
    },
    markShuttingDown: () => {
      stopped = true;
      setAll('NOT_SERVING');
      for (const name of independent) health.setStatus(name, 'NOT_SERVING');
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
