import type { Logger } from '../../../shared/logger';
import type { Dispatch } from '../domain/dispatch';
import type { JobSignals } from '../domain/job-signals';
import type { WorkerReports } from '../domain/worker-reports';
import { startPeriodicTask } from './periodic-task';

export interface DispatcherSettings {
  readonly intervalMs: number;
  readonly batchSize: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileAfterMs: number;
  readonly leaseSweepIntervalMs: number;
  readonly retentionSweepIntervalMs: number;
  readonly retentionBatchSize: number;
}

export interface Dispatcher {
  stop(): Promise<void>;
}

/**
 * The data service's background entry points: dispatch due jobs (at once after an enqueue, and on a
 * timer), re-publish what Redis lost, fail attempts whose lease lapsed, and delete expired jobs and
 * request ids. `onDispatchResult` tells the health service whether dispatch to Redis works.
 */
export function startDispatcher(options: {
  readonly dispatch: Dispatch;
  readonly reports: WorkerReports;
  readonly signals: JobSignals;
  readonly settings: DispatcherSettings;
  readonly log: Logger;
  readonly onDispatchResult: (ok: boolean) => void;
  readonly probeRedis: () => Promise<void>;
  /** Deletes request ids past their retention, `batch` at a time; answers how many. */
  readonly forgetOldRequestIds: (batch: number) => Promise<number>;
}): Dispatcher {
  const { dispatch, reports, signals, settings, log, onDispatchResult } = options;
  // A round with nothing to do succeeds without asking Redis: only a failure, a publish or the probe
  // tells whether Redis answers (else the entry flaps to SERVING while Redis is down).
  const reportFailure = <T>(work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      onDispatchResult(false);
      throw error;
    });

  const tasks = [
    startPeriodicTask(
      'dispatch',
      settings.intervalMs,
      async () => {
        const dispatched = await reportFailure(dispatch.dispatchDue(settings.batchSize));
        if (dispatched > 0) onDispatchResult(true);
        return dispatched === settings.batchSize;
      },
      log,
    ),
    startPeriodicTask(
      'redis-probe',
      settings.intervalMs * 5,
      async () => {
        await reportFailure(options.probeRedis());
        onDispatchResult(true);
        return false;
      },
      log,
    ),
    startPeriodicTask(
      'reconcile',
      settings.reconcileIntervalMs,
      async () => {
        const republished = await reportFailure(dispatch.reconcile(settings.reconcileAfterMs, settings.batchSize));
        if (republished > 0) log.warn({ republished }, 're-published queued jobs that Redis had lost');
        return false;
      },
      log,
    ),
    startPeriodicTask(
      'lease-sweep',
      settings.leaseSweepIntervalMs,
      async () => {
        const expired = await reports.expireLeases(settings.batchSize);
        if (expired > 0) log.warn({ expired }, 'failed attempts whose worker stopped reporting');
        return expired === settings.batchSize;
      },
      log,
    ),
    startPeriodicTask(
      'retention-sweep',
      settings.retentionSweepIntervalMs,
      async () => {
        const deleted = await dispatch.sweepRetention(settings.retentionBatchSize);
        if (deleted > 0) log.info({ deleted }, 'deleted finished jobs past their retention');
        const forgotten = await options.forgetOldRequestIds(settings.retentionBatchSize);
        if (forgotten > 0) log.info({ forgotten }, 'deleted request ids past their retention');
        return false;
      },
      log,
    ),
  ];
  const [dispatchTask] = tasks;
  const unsubscribe = signals.onJobsDue(() => dispatchTask?.wake());

  return {
    stop: async () => {
      unsubscribe();
      await Promise.all(tasks.map((task) => task.stop()));
    },
  };
}
