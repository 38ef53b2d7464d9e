import { v7 as uuidv7, validate as isUuid } from 'uuid';
import type { Violations } from './violations';

/** A new resource id: a UUIDv7, so that ids sort in creation order and keyset pages stay stable. */
export function newId(): string {
  return uuidv7();
}

/** Lowercase canonical UUID text, as the database stores and compares it. */
export function isCanonicalId(value: string): boolean {
  return isUuid(value) && value === value.toLowerCase();
}

/** Records a violation unless `value` is a canonical UUID (or empty, when `optional`). */
export function checkId(violations: Violations, value: string, field: string, optional = false): void {
  if (optional && value === '') return;
  violations.check(isCanonicalId(value), field, value === '' ? 'is required' : 'must be a lowercase UUID');
}
