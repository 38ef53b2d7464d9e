import assert from 'node:assert/strict';
import { etagMatches, etagOf } from '../../services/data/src/domain/etag';

describe('etags', () => {
  it('when the version changes, then the etag changes', () => {
    assert.notEqual(etagOf(1), etagOf(2));
    assert.equal(etagOf(7), etagOf(7));
  });

  it('when no etag is sent, then any version matches', () => {
    assert.equal(etagMatches('', 1), true);
    assert.equal(etagMatches('', 42), true);
  });

  it('when the etag of the current version is sent, then it matches', () => {
    assert.equal(etagMatches(etagOf(3), 3), true);
  });

  it('when a stale or made-up etag is sent, then it does not match', () => {
    assert.equal(etagMatches(etagOf(3), 4), false);
    assert.equal(etagMatches('4', 4), false);
    assert.equal(etagMatches(`${etagOf(4)} `, 4), false);
  });
});
