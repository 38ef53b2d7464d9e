import type { Duration } from '../../../../proto/gen/google/protobuf/duration';
import { invalid } from '../domain/violations';

const MAX_SECONDS = 10 * 365 * 24 * 3600;

/** A protobuf Duration as whole milliseconds; negative or absurd durations are INVALID_ARGUMENT. */
export function toMs(duration: Duration, field: string): number {
  const seconds = Number(duration.seconds);
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS || duration.nanos < 0) {
    return invalid(field, 'must be a positive duration');
  }
  return seconds * 1000 + Math.floor(duration.nanos / 1e6);
}

export function fromMs(ms: number): Duration {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
