import { ConfigError, loadConfig, type FrozenConfig } from '../../config';
import { createLogger, type Logger } from './logger';

interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The body of every main.ts: load the config (a bad value stops start-up naming the key), start the
 * service, and stop it once on SIGTERM or SIGINT. Exits 0 after a clean stop, 1 on any failure.
 */
export function runMain(name: string, start: (config: FrozenConfig, log: Logger) => Promise<Stoppable>): void {
  let config: FrozenConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const log = createLogger(name, config.log.level);

  const started = start(config, log);
  started.catch((error: unknown) => {
    log.fatal({ err: error }, 'failed to start');
    process.exit(1);
  });

  // Listen before the service announces it is ready: a signal that arrives in between must still stop it
  // cleanly (once it has started) instead of killing it.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    started
      .then((service) => service.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'failed to stop cleanly');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
