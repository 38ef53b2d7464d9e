import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { Metadata, status as Code, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { loadConfig } from '../../config';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { UserServiceClient } from '../../proto/gen/tandem/v1/user';
import { newId } from '../../services/data/src/domain/ids';
import { bearer, connect, detailsOf, expectCode, promiseClient } from '../support/grpc-client';
import {
  freePort,
  parseLogLine,
  startServiceProcess,
  type LogEntry,
  type ServiceProcess,
} from '../support/service-process';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const TOKEN = `log-token-${randomBytes(8).toString('hex')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Outcome {
  readonly header: Metadata;
  readonly error: ServiceError | null;
}

/** The client token and, when given, an `x-request-id`. */
function authorized(requestId?: string): Metadata {
  const metadata = bearer(TOKEN);
  if (requestId !== undefined) metadata.set('x-request-id', requestId);
  return metadata;
}

function userRequest(password: string, email?: string) {
  const input = newUserInput();
  return {
    user: { ...input, email: email ?? input.email, password, id: '', orderCount: '0', etag: '' },
    requestId: '',
  };
}

describe('call logs of the data service process', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let client: UserServiceClient;

  /** Calls `invoke` and keeps the response header next to the outcome. */
  function call(invoke: (callback: (error: ServiceError | null) => void) => ClientUnaryCall): Promise<Outcome> {
    return new Promise((resolve) => {
      let header = new Metadata();
      invoke((error) => resolve({ header, error })).on('metadata', (received: Metadata) => (header = received));
    });
  }

  const options = () => ({ deadline: Date.now() + 10_000 });
  const callLine = (requestId: string) => (entry: LogEntry) =>
    entry['msg'] === 'call' && entry['requestId'] === requestId;

  before(async () => {
    database = await createTestDatabase('sqlite');
    const port = await freePort();
    service = startServiceProcess('data', {
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      GRPC_PORT: String(port),
      LOG_LEVEL: 'trace',
      AUTH_CLIENT_TOKENS: TOKEN,
    });
    await service.waitForLog((entry) => entry['msg'] === 'data service listening');
    client = connect(UserServiceClient, `127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    const exit = await service.stop();
    await database.drop();
    assert.equal(exit.code, 0);
  });

  it('when a call fails, then one JSON line records its method, code, duration and the sent request id', async () => {
    const requestId = `obs-${randomBytes(6).toString('hex')}`;
    const metadata = authorized(requestId);

    const outcome = await call((done) => client.getUser({ id: 'not-a-uuid' }, metadata, options(), done));

    assert.equal(outcome.error?.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(outcome.header.get('x-request-id'), [requestId]);
    const entry = await service.waitForLog(callLine(requestId));
    assert.equal(entry['method'], '/tandem.v1.UserService/GetUser');
    assert.equal(entry['code'], 'INVALID_ARGUMENT');
    assert.equal(entry['caller'], 'client');
    assert.equal(typeof entry['durationMs'], 'number');
    assert.ok((entry['durationMs'] as number) >= 0);

    // A later call's line proves the first call's line is complete: it was written exactly once.
    const next = `obs-${randomBytes(6).toString('hex')}`;
    await call((done) => client.getUser({ id: newId() }, authorized(next), options(), done));
    assert.equal((await service.waitForLog(callLine(next)))['code'], 'NOT_FOUND');
    assert.equal(service.lines.map(parseLogLine).filter((line) => line && callLine(requestId)(line)).length, 1);
  });

  it('when the client sends no request id, then the server makes one, returns it in the header and logs it', async () => {
    const outcome = await call((done) => client.getUser({ id: newId() }, new Metadata(), options(), done));

    assert.equal(outcome.error?.code, Code.UNAUTHENTICATED);
    const [requestId] = outcome.header.get('x-request-id');
    assert.ok(typeof requestId === 'string' && UUID.test(requestId), `x-request-id: ${String(requestId)}`);
    assert.equal((await service.waitForLog(callLine(requestId)))['code'], 'UNAUTHENTICATED');
  });

  it('when a client sends an unusable request id, then it is replaced, not logged', async () => {
    const metadata = authorized('forged id", "code": "OK');

    const outcome = await call((done) => client.getUser({ id: newId() }, metadata, options(), done));

    const [requestId] = outcome.header.get('x-request-id');
    assert.ok(typeof requestId === 'string' && UUID.test(requestId));
    await service.waitForLog(callLine(requestId));
    assert.ok(!service.lines.some((line) => line.includes('forged')));
  });

  it('when users are created with passwords and a bearer token, then neither appears anywhere in the output', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const rejectedPassword = `pw-${randomBytes(12).toString('hex')}`;
    const [created, rejected] = [`obs-${randomBytes(6).toString('hex')}`, `obs-${randomBytes(6).toString('hex')}`];

    const ok = await call((done) => client.createUser(userRequest(password), authorized(created), options(), done));
    const invalid = await call((done) =>
      client.createUser(userRequest(rejectedPassword, 'not-an-email'), authorized(rejected), options(), done),
    );

    assert.equal(ok.error, null);
    assert.equal(invalid.error?.code, Code.INVALID_ARGUMENT);
    assert.equal((await service.waitForLog(callLine(created)))['code'], 'OK');
    assert.equal((await service.waitForLog(callLine(rejected)))['code'], 'INVALID_ARGUMENT');
    const output = `${service.lines.join('\n')}\n${service.stderr()}`;
    for (const secret of [password, rejectedPassword, TOKEN]) {
      assert.ok(!output.includes(secret), `the log output contains ${secret}`);
    }
  });
});

describe('health of the data service on PostgreSQL', () => {
  let service: TestDataService;
  let health: HealthClient;
  const admin = new PgClient({ connectionString: loadConfig().testing.postgresAdminUrl });
  let name: string;

  async function waitForHealth(expected: Serving, timeoutMs = 5_000): Promise<void> {
    const check = promiseClient(health);
    const deadline = Date.now() + timeoutMs;
    let last: Serving | undefined;
    while (Date.now() < deadline) {
      last = (await check.check({ service: '' })).status;
      if (last === expected) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.fail(`health is ${last === undefined ? '?' : Serving[last]}, expected ${Serving[expected]}`);
  }

  before(async () => {
    service = await startTestDataService('postgres', { 'grpc.healthCheckIntervalMs': 100 });
    name = new URL(service.database.url).pathname.slice(1);
    health = connect(HealthClient, service.address);
    await admin.connect();
  });
  after(async () => {
    health.close();
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    await admin.end();
    await service.destroy();
  });

  it('when the database answers, then Check("") is SERVING', async () => {
    await waitForHealth(Serving.SERVING);
  });

  it('when the database goes away, then Check("") turns NOT_SERVING, calls are UNAVAILABLE, and it recovers', async () => {
    await waitForHealth(Serving.SERVING);

    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);

    await waitForHealth(Serving.NOT_SERVING);
    const error = await expectCode(service.users.getUser({ id: newId() }), Code.UNAVAILABLE);
    assert.equal(detailsOf(error).errorInfo?.reason, 'DATABASE_UNAVAILABLE');
    assert.doesNotMatch(error.details, /tandem_test|accepting connections/);

    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    await waitForHealth(Serving.SERVING);
    await expectCode(service.users.getUser({ id: newId() }), Code.NOT_FOUND);
  });
});
