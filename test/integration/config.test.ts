import assert from 'node:assert/strict';
import { runServiceToExit } from '../support/service-process';

const VALID_TOKEN = 'valid-token-'.padEnd(32, 'v');

/** Starts the data service with one bad setting over a valid test environment. */
function startDataWith(env: Record<string, string>) {
  return runServiceToExit('data', { NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: 'sqlite::memory:', ...env });
}

describe('start-up with an invalid configuration', () => {
  it('when GRPC_PORT is out of range, then the process exits 1 naming grpc.port before listening', async () => {
    const result = await startDataWith({ GRPC_PORT: '99999' });

    assert.equal(result.code, 1);
    assert.match(result.stderr, /grpc\.port/);
    assert.doesNotMatch(result.stdout, /listening/);
  });

  it('when DATABASE_URL is not a supported database, then it exits 1 naming database.url without printing it', async () => {
    const result = await startDataWith({ DATABASE_URL: 'mysql://admin:s3cret-pass@db.internal/tandem' });

    assert.equal(result.code, 1);
    assert.match(result.stderr, /database\.url/);
    assert.doesNotMatch(result.stderr + result.stdout, /mysql|s3cret-pass|db\.internal/);
  });

  it('when AUTH_CLIENT_TOKENS holds a short token, then it exits 1 naming auth.clientTokens without printing any token', async () => {
    const result = await startDataWith({ AUTH_CLIENT_TOKENS: `${VALID_TOKEN},sh0rt` });

    assert.equal(result.code, 1);
    assert.match(result.stderr, /auth\.clientTokens/);
    for (const token of [VALID_TOKEN, 'sh0rt']) assert.ok(!(result.stderr + result.stdout).includes(token), token);
  });
});
