import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths redacted from every log line, wherever a careless caller puts them. */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'passwordHash',
  '*.passwordHash',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'databaseUrl',
  'redisUrl',
];

/** One JSON line per event on stdout. */
export function createLogger(service: string, level: string): Logger {
  return pino({ name: service, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
