import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../services/data/src/domain/errors';
import { Violations } from '../../services/data/src/domain/violations';
import { resolveMask, type MaskRules } from '../../services/data/src/rpc/field-mask';

const RULES: MaskRules = { mutable: ['username', 'email', 'status'], ignored: ['id', 'create_time', 'etag'] };
const SET_FIELDS = new Set(['username', 'status']);
const isSet = (path: string): boolean => SET_FIELDS.has(path);

/** Resolves a mask that must be valid. */
function resolve(paths: readonly string[]): Set<string> {
  const violations = new Violations();
  const mask = resolveMask(paths, RULES, isSet, violations);
  violations.throwIfAny();
  return mask;
}

function refusedPaths(paths: readonly string[]): string[] {
  try {
    resolve(paths);
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    assert.ok(error.violations.every((violation) => violation.field === 'update_mask'));
    return error.violations.map((violation) => /"([^"]*)"/.exec(violation.description)?.[1] ?? '');
  }
  assert.fail('expected INVALID_ARGUMENT');
}

describe('field masks', () => {
  it('when the mask is empty, then every mutable field that is set is applied', () => {
    assert.deepEqual([...resolve([])].sort(), ['status', 'username']);
  });

  it('when the mask names fields, then exactly those are applied, set or not', () => {
    assert.deepEqual([...resolve(['email'])], ['email']);
  });

  it('when the mask names output-only fields, then they are ignored without error', () => {
    assert.deepEqual([...resolve(['etag', 'id', 'username'])], ['username']);
    assert.equal(resolve(['create_time']).size, 0);
  });

  it('when the mask names unknown fields, then each one is reported on update_mask', () => {
    assert.deepEqual(refusedPaths(['username', 'nickname', 'passwordHash']), ['nickname', 'passwordHash']);
  });

  it('when the mask is "*", then it is refused', () => {
    assert.deepEqual(refusedPaths(['*']), ['*']);
  });

  it('when a path is given in camelCase instead of snake_case, then it is refused', () => {
    assert.deepEqual(refusedPaths(['createTime']), ['createTime']);
  });
});
