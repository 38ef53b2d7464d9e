import assert from 'node:assert/strict';
import { status as Code } from '@grpc/grpc-js';
import { ConnectionRefusedError, DatabaseError } from 'sequelize';
import { BadRequest, ErrorInfo } from '../../proto/gen/google/rpc/error_details';
import { Status } from '../../proto/gen/google/rpc/status';
import * as errors from '../../services/data/src/domain/errors';
import {
  AbortedError,
  AlreadyExistsError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from '../../services/data/src/domain/errors';
import { toGrpcStatus, type MappedError } from '../../services/data/src/rpc/error-status';

const REQUEST_ID = 'req-0123';

/** The google.rpc.Status a client decodes from `grpc-status-details-bin`. */
function richDetails(status: MappedError['status']) {
  const raw = status.metadata?.get('grpc-status-details-bin')[0];
  assert.ok(raw instanceof Buffer, 'grpc-status-details-bin must be set');
  const decoded = Status.decode(raw);
  const of = (type: string) => decoded.details.filter((detail) => detail.typeUrl === `type.googleapis.com/${type}`);
  return {
    code: decoded.code,
    message: decoded.message,
    errorInfos: of('google.rpc.ErrorInfo').map((detail) => ErrorInfo.decode(detail.value)),
    badRequests: of('google.rpc.BadRequest').map((detail) => BadRequest.decode(detail.value)),
    count: decoded.details.length,
  };
}

const DOMAIN_ERRORS: ReadonlyArray<{ error: DomainError; code: Code; reason: string }> = [
  {
    error: new InvalidArgumentError([{ field: 'user.email', description: 'must be valid' }]),
    code: Code.INVALID_ARGUMENT,
    reason: 'INVALID_ARGUMENT',
  },
  { error: new NotFoundError('user', 'u-1'), code: Code.NOT_FOUND, reason: 'NOT_FOUND' },
  { error: new AlreadyExistsError('user', 'username'), code: Code.ALREADY_EXISTS, reason: 'ALREADY_EXISTS' },
  {
    error: new FailedPreconditionError('USER_DELETED', 'the user is deleted', { id: 'u-1' }),
    code: Code.FAILED_PRECONDITION,
    reason: 'USER_DELETED',
  },
  { error: new AbortedError('ETAG_MISMATCH', 'stale etag'), code: Code.ABORTED, reason: 'ETAG_MISMATCH' },
  { error: new UnauthenticatedError('no token'), code: Code.UNAUTHENTICATED, reason: 'UNAUTHENTICATED' },
  { error: new PermissionDeniedError('workers only'), code: Code.PERMISSION_DENIED, reason: 'PERMISSION_DENIED' },
  { error: new UnavailableError('try later'), code: Code.UNAVAILABLE, reason: 'UNAVAILABLE' },
];

describe('mapping errors to gRPC statuses', () => {
  it('when a domain error class is exported, then this table covers it', () => {
    const exported = Object.values(errors).filter(
      (value) => typeof value === 'function' && value.prototype instanceof DomainError,
    );
    const covered = new Set(DOMAIN_ERRORS.map(({ error }) => error.constructor));

    assert.deepEqual(
      exported.filter((type) => !covered.has(type)).map((type) => type.name),
      [],
      'every DomainError needs a mapping and a row here',
    );
  });

  for (const { error, code, reason } of DOMAIN_ERRORS) {
    it(`when ${error.name} is thrown, then the status is ${Code[code]} with an ErrorInfo (${reason}, tandem.v1)`, () => {
      const { status, unexpected } = toGrpcStatus(error, REQUEST_ID);

      assert.equal(status.code, code);
      assert.equal(status.details, error.message);
      assert.equal(unexpected, false);
      const details = richDetails(status);
      assert.equal(details.code, code);
      assert.equal(details.message, error.message);
      assert.equal(details.errorInfos.length, 1);
      assert.deepEqual(
        details.errorInfos[0],
        ErrorInfo.fromPartial({ reason, domain: 'tandem.v1', metadata: error.metadata }),
      );
    });
  }

  it('when InvalidArgumentError is thrown, then one BadRequest lists every violation in order', () => {
    const violations = [
      { field: 'user.username', description: 'must match ^[a-z][a-z0-9_]{2,31}$' },
      { field: 'user.email', description: 'must be a valid email address' },
      { field: 'user.password', description: 'must be 8 to 256 characters long' },
    ];

    const details = richDetails(toGrpcStatus(new InvalidArgumentError(violations), REQUEST_ID).status);

    assert.equal(details.badRequests.length, 1);
    assert.deepEqual(
      details.badRequests[0]!.fieldViolations.map(({ field, description }) => ({ field, description })),
      violations,
    );
    assert.equal(details.count, 2);
  });

  it('when another domain error is thrown, then no BadRequest is attached', () => {
    assert.equal(richDetails(toGrpcStatus(new NotFoundError('user', 'u-1'), REQUEST_ID).status).badRequests.length, 0);
  });

  it('when an unexpected Error is thrown, then the status is INTERNAL and leaks neither message nor stack', () => {
    const error = new Error('SELECT secret FROM users WHERE password_hash = $1');

    const { status, unexpected } = toGrpcStatus(error, REQUEST_ID);

    assert.equal(status.code, Code.INTERNAL);
    assert.equal(unexpected, true);
    const details = richDetails(status);
    for (const text of [status.details, details.message, JSON.stringify(details.errorInfos)]) {
      assert.doesNotMatch(text, /SELECT|secret|password|\n\s+at /);
    }
    assert.match(status.details, new RegExp(REQUEST_ID));
    assert.deepEqual(
      details.errorInfos[0],
      ErrorInfo.fromPartial({ reason: 'INTERNAL', domain: 'tandem.v1', metadata: { requestId: REQUEST_ID } }),
    );
  });

  it('when a Sequelize DatabaseError carrying its SQL is thrown, then the status is INTERNAL without the SQL', () => {
    const parent = Object.assign(new Error('relation "secret_table" does not exist'), {
      sql: 'SELECT * FROM secret_table',
      parameters: {},
    });

    const { status, unexpected } = toGrpcStatus(new DatabaseError(parent), REQUEST_ID);

    assert.equal(status.code, Code.INTERNAL);
    assert.equal(unexpected, true);
    assert.doesNotMatch(status.details + richDetails(status).message, /secret_table|SELECT/);
  });

  for (const sqlstate of ['40P01', '40001']) {
    it(`when PostgreSQL aborts a transaction with SQLSTATE ${sqlstate}, then the status is UNAVAILABLE, to be retried`, () => {
      const parent = Object.assign(new Error('deadlock detected'), {
        code: sqlstate,
        sql: 'UPDATE jobs',
        parameters: {},
      });

      const { status, unexpected } = toGrpcStatus(new DatabaseError(parent), REQUEST_ID);

      assert.equal(status.code, Code.UNAVAILABLE);
      assert.equal(unexpected, false);
      assert.equal(richDetails(status).errorInfos[0]?.reason, 'DATABASE_CONFLICT');
      assert.doesNotMatch(status.details, /deadlock|UPDATE/);
    });
  }

  for (const [code, message] of [
    ['ECONNRESET', 'read ECONNRESET'],
    ['57P01', 'terminating connection due to administrator command'],
    ['08006', 'connection failure'],
  ]) {
    it(`when a query loses its connection (${code}), then the status is UNAVAILABLE and the error is not a bug`, () => {
      const parent = Object.assign(new Error(message), { code, sql: 'SELECT * FROM users', parameters: {} });

      const { status, unexpected } = toGrpcStatus(new DatabaseError(parent), REQUEST_ID);

      assert.equal(status.code, Code.UNAVAILABLE);
      assert.equal(unexpected, false);
      assert.equal(richDetails(status).errorInfos[0]?.reason, 'DATABASE_UNAVAILABLE');
      assert.doesNotMatch(status.details, /users|SELECT/);
    });
  }

  it('when a query fails with another SQLSTATE, then the status stays INTERNAL', () => {
    const parent = Object.assign(new Error('division by zero'), { code: '22012', sql: 'SELECT 1/0', parameters: {} });

    const { status, unexpected } = toGrpcStatus(new DatabaseError(parent), REQUEST_ID);

    assert.equal(status.code, Code.INTERNAL);
    assert.equal(unexpected, true);
  });

  for (const thrown of ['a string', undefined, null, { code: Code.NOT_FOUND, message: 'looks like a status' }]) {
    it(`when a non-Error value (${JSON.stringify(thrown)}) is thrown, then the status is INTERNAL`, () => {
      const { status, unexpected } = toGrpcStatus(thrown, REQUEST_ID);

      assert.equal(status.code, Code.INTERNAL);
      assert.equal(unexpected, true);
    });
  }

  it('when the database refuses connections, then the status is UNAVAILABLE and the error is not a bug', () => {
    const refused = new ConnectionRefusedError(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' }),
    );
    assert.equal(refused.name, 'SequelizeConnectionRefusedError');

    const { status, unexpected } = toGrpcStatus(refused, REQUEST_ID);

    assert.equal(status.code, Code.UNAVAILABLE);
    assert.equal(unexpected, false);
    assert.doesNotMatch(status.details, /10\.0\.0\.7|ECONNREFUSED/);
    assert.equal(richDetails(status).errorInfos[0]?.domain, 'tandem.v1');
  });
});
