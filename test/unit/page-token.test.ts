import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../services/data/src/domain/errors';
import { newId } from '../../services/data/src/domain/ids';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, readPagePosition, toPage } from '../../services/data/src/domain/pagination';
import { Violations } from '../../services/data/src/domain/violations';

const QUERY = { status: 'active', usernamePrefix: 'ann', showDeleted: false };

/** The fields of every violation recorded, or [] when there is none. */
function violatedFields(violations: Violations): string[] {
  try {
    violations.throwIfAny();
    return [];
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return error.violations.map((violation) => violation.field);
  }
}

function read(pageSize: number, pageToken: string, query: unknown = QUERY) {
  const violations = new Violations();
  const position = readPagePosition(violations, pageSize, pageToken, query);
  return { ...position, violated: violatedFields(violations) };
}

const byId = (row: { id: string }): string => row.id;

function rows(count: number): Array<{ id: string }> {
  return Array.from({ length: count }, () => ({ id: newId() }));
}

describe('page tokens', () => {
  it('when more rows than the limit were fetched, then the token resumes after the last row served', () => {
    const fetched = rows(3);
    const page = toPage(fetched, 2, QUERY, byId);

    assert.deepEqual(page.items, fetched.slice(0, 2));
    assert.notEqual(page.nextPageToken, '');
    assert.deepEqual(read(2, page.nextPageToken), { afterId: fetched[1]!.id, limit: 2, violated: [] });
  });

  it('when no extra row was fetched, then the page is the last one and its token is empty', () => {
    assert.equal(toPage(rows(2), 2, QUERY, byId).nextPageToken, '');
    assert.equal(toPage([], 2, QUERY, byId).nextPageToken, '');
  });

  it('when the token is empty, then the list starts at the beginning', () => {
    assert.deepEqual(read(5, ''), { afterId: undefined, limit: 5, violated: [] });
  });

  it('when a character of the token is altered, then page_token is refused', () => {
    const token = toPage(rows(3), 2, QUERY, byId).nextPageToken;
    const index = token.length >> 2;
    const tampered = `${token.slice(0, index)}${token[index] === 'A' ? 'B' : 'A'}${token.slice(index + 1)}`;

    assert.deepEqual(read(2, tampered), { afterId: undefined, limit: 2, violated: ['page_token'] });
  });

  it('when the token was issued for other filters, then page_token is refused', () => {
    const token = toPage(rows(3), 2, QUERY, byId).nextPageToken;

    assert.deepEqual(read(2, token, { ...QUERY, status: 'disabled' }).violated, ['page_token']);
  });

  it('when a forged token carries a valid checksum but a position that is not an id, then it is refused', () => {
    // The checksum only detects accidents: anyone can recompute it, so the position itself must be checked.
    const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
    const forge = (after: string): string => {
      const body = Buffer.from(JSON.stringify({ after, query: digest(JSON.stringify(QUERY)) })).toString('base64url');
      return `${body}.${digest(body)}`;
    };
    const id = newId();
    assert.equal(read(2, forge(id)).afterId, id, 'the forgery must follow the real token format');

    assert.deepEqual(read(2, forge("x' OR 1=1 --")).violated, ['page_token']);
    assert.deepEqual(read(2, forge(id.toUpperCase())).violated, ['page_token']);
  });

  for (const garbage of ['garbage', '.', 'a.b.c', '%%%.###', `${'x'.repeat(500)}.y`]) {
    it(`when the token is garbage (${JSON.stringify(garbage.slice(0, 12))}), then page_token is refused`, () => {
      assert.deepEqual(read(2, garbage).violated, ['page_token']);
    });
  }
});

describe('page size', () => {
  it(`when page_size is 0, then ${DEFAULT_PAGE_SIZE} rows are served`, () => {
    assert.deepEqual(read(0, ''), { afterId: undefined, limit: DEFAULT_PAGE_SIZE, violated: [] });
  });

  it(`when page_size exceeds ${MAX_PAGE_SIZE}, then it is lowered to ${MAX_PAGE_SIZE}`, () => {
    assert.equal(read(MAX_PAGE_SIZE + 1, '').limit, MAX_PAGE_SIZE);
    assert.equal(read(2 ** 31 - 1, '').limit, MAX_PAGE_SIZE);
    assert.equal(read(MAX_PAGE_SIZE, '').limit, MAX_PAGE_SIZE);
  });

  it('when page_size is negative, then page_size is refused', () => {
    assert.deepEqual(read(-1, '').violated, ['page_size']);
  });

  it('when both page_size and page_token are invalid, then both are reported at once', () => {
    assert.deepEqual(read(-5, 'garbage').violated, ['page_size', 'page_token']);
  });
});
