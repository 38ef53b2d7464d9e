import { createHash } from 'node:crypto';
import { isCanonicalId } from './ids';
import type { Violations } from './violations';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

/** Where a list resumes: after `afterId`, at most `limit` rows. */
export interface PagePosition {
  readonly afterId: string | undefined;
  readonly limit: number;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** Fingerprint of the filters a token belongs to: a token from another query is refused. */
function fingerprint(query: unknown): string {
  return digest(JSON.stringify(query));
}

/**
 * An opaque keyset token: the last id served and the query it belongs to, with a checksum that makes
 * a tampered token detectable. Tokens hold no secret; they only spare the client from keeping state.
 */
function encodeToken(afterId: string, query: unknown): string {
  const body = Buffer.from(JSON.stringify({ after: afterId, query: fingerprint(query) })).toString('base64url');
  return `${body}.${digest(body)}`;
}

function decodeToken(token: string, query: unknown, isCursor: (cursor: string) => boolean): string | undefined {
  const [body, checksum, extra] = token.split('.');
  if (!body || checksum !== digest(body) || extra !== undefined) return undefined;
  try {
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { after?: unknown; query?: unknown };
    if (decoded.query !== fingerprint(query) || typeof decoded.after !== 'string') return undefined;
    return isCursor(decoded.after) ? decoded.after : undefined;
  } catch {
    return undefined;
  }
}

/** Validates page_size and page_token against `query`, recording violations. */
export function readPagePosition(
  violations: Violations,
  pageSize: number,
  pageToken: string,
  query: unknown,
  isCursor: (cursor: string) => boolean = isCanonicalId,
): PagePosition {
  violations.check(pageSize >= 0, 'page_size', 'must not be negative');
  const afterId = pageToken === '' ? undefined : decodeToken(pageToken, query, isCursor);
  violations.check(
    pageToken === '' || afterId !== undefined,
    'page_token',
    'is not a token issued for this query (it was altered, or the filters changed)',
  );
  const limit = pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  return { afterId, limit };
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells that another page exists.
 */
export function toPage<T>(rows: readonly T[], limit: number, query: unknown, cursorOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextPageToken: rows.length > limit && last !== undefined ? encodeToken(cursorOf(last), query) : '' };
}
