import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups after a commit: the dispatcher runs at once when jobs become due, and WatchJob
 * reads new events at once. They only shorten waits: every reader also polls the database, which
 * stays the source of truth (another replica's commits raise no signal here).
 */
export function createJobSignals() {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    jobsDue: (): void => {
      emitter.emit('due');
    },
    jobChanged: (jobId: string): void => {
      emitter.emit(`job:${jobId}`);
    },
    onJobsDue: (listener: () => void): (() => void) => {
      emitter.on('due', listener);
      return () => emitter.off('due', listener);
    },
    onJobChanged: (jobId: string, listener: () => void): (() => void) => {
      emitter.on(`job:${jobId}`, listener);
      return () => emitter.off(`job:${jobId}`, listener);
    },
  };
}

export type JobSignals = ReturnType<typeof createJobSignals>;
