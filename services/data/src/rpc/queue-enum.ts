import { Queue } from '../../../../proto/gen/tandem/v1/job_type';
import type { QueueName } from '../domain/job-types';
import { invalid } from '../domain/violations';

const TO_DOMAIN: ReadonlyMap<Queue, QueueName> = new Map([
  [Queue.QUEUE_CRITICAL, 'critical'],
  [Queue.QUEUE_DEFAULT, 'default'],
  [Queue.QUEUE_LOW, 'low'],
]);

export const QUEUE_TO_PROTO: Readonly<Record<QueueName, Queue>> = {
  critical: Queue.QUEUE_CRITICAL,
  default: Queue.QUEUE_DEFAULT,
  low: Queue.QUEUE_LOW,
};

/** A Queue value: undefined when unspecified, INVALID_ARGUMENT when unknown. */
export function queueOf(value: Queue, field: string): QueueName | undefined {
  if (value === Queue.QUEUE_UNSPECIFIED) return undefined;
  return TO_DOMAIN.get(value) ?? invalid(field, 'must be QUEUE_CRITICAL, QUEUE_DEFAULT or QUEUE_LOW');
}
