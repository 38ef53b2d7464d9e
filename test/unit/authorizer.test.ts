import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../../services/data/src/domain/errors';
import { createAuthorizer } from '../../services/data/src/rpc/auth';

const CLIENT_TOKEN = 'client-token-0123456789';
const WORKER_TOKEN = 'worker-token-0123456789';
const USER_PATH = '/tandem.v1.UserService/GetUser';
const WORKER_PATH = '/tandem.v1.WorkerService/StartAttempt';

function withAuthorization(value?: string): Metadata {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set('authorization', value);
  return metadata;
}

describe('authorizer', () => {
  const authorize = createAuthorizer({ clientTokens: [CLIENT_TOKEN], workerTokens: [WORKER_TOKEN] });

  it('when a client token calls a client service, then the caller is a client', () => {
    assert.equal(authorize(USER_PATH, withAuthorization(`Bearer ${CLIENT_TOKEN}`)), 'client');
  });

  it('when a worker token calls WorkerService, then the caller is a worker', () => {
    assert.equal(authorize(WORKER_PATH, withAuthorization(`Bearer ${WORKER_TOKEN}`)), 'worker');
  });

  it('when a client token calls WorkerService, then it is PERMISSION_DENIED', () => {
    assert.throws(() => authorize(WORKER_PATH, withAuthorization(`Bearer ${CLIENT_TOKEN}`)), PermissionDeniedError);
  });

  for (const [when, header] of [
    ['no authorization is sent', undefined],
    ['an unknown token is sent', `Bearer ${CLIENT_TOKEN}x`],
    ['another scheme is used', `Basic ${CLIENT_TOKEN}`],
    ['the bearer token is empty', 'Bearer '],
    ['the token is sent without its scheme', CLIENT_TOKEN],
  ] as const) {
    it(`when ${when}, then it is UNAUTHENTICATED on every path`, () => {
      assert.throws(() => authorize(USER_PATH, withAuthorization(header)), UnauthenticatedError);
      assert.throws(() => authorize(WORKER_PATH, withAuthorization(header)), UnauthenticatedError);
    });
  }

  it('when only worker tokens are configured, then an anonymous client call is UNAUTHENTICATED', () => {
    const workersOnly = createAuthorizer({ clientTokens: [], workerTokens: [WORKER_TOKEN] });

    assert.throws(() => workersOnly(USER_PATH, withAuthorization()), UnauthenticatedError);
    assert.equal(workersOnly(USER_PATH, withAuthorization(`Bearer ${WORKER_TOKEN}`)), 'worker');
  });

  it('when no token is configured, then every call is anonymous, whatever it sends', () => {
    const open = createAuthorizer({ clientTokens: [], workerTokens: [] });

    assert.equal(open(USER_PATH, withAuthorization()), 'anonymous');
    assert.equal(open(WORKER_PATH, withAuthorization('Bearer anything-at-all-here')), 'anonymous');
  });
});
