import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { loadConfig } from '../../config';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { connect } from '../support/grpc-client';
import { freePort, startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const GRACE_MS = 300;
const EXIT_BOUND_MS = GRACE_MS + 5_000;

describe('stopping the data service process', () => {
  let database: TestDatabase;
  let service: ServiceProcess | undefined;
  let port: number;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    port = await freePort();
    service = startServiceProcess('data', {
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      GRPC_PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    await service.waitForLog((entry) => entry['msg'] === 'data service listening');
  });
  afterEach(async () => {
    await service?.stop('SIGKILL');
    await database.drop();
  });

  it('when it gets SIGTERM, then it logs "data service stopped" and exits 0', async () => {
    const exit = await service!.stop('SIGTERM', EXIT_BOUND_MS);

    assert.deepEqual(exit, { code: 0, signal: null });
    await service!.waitForLog((entry) => entry['msg'] === 'stopping' && entry['signal'] === 'SIGTERM');
    await service!.waitForLog((entry) => entry['msg'] === 'data service stopped');
  });

  it('when a health Watch stream is open, then SIGTERM reports NOT_SERVING, cancels the stream after the grace period and exits 0', async () => {
    const health = connect(HealthClient, `127.0.0.1:${port}`);
    const seen: Serving[] = [];
    const stream = health.watch({ service: '' });
    const serving = new Promise<void>((resolve) =>
      stream.on('data', ({ status }: { status: Serving }) => {
        seen.push(status);
        if (status === Serving.SERVING) resolve();
      }),
    );
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      stream.on('error', (error: ServiceError) => resolve(error));
      stream.on('end', () => resolve(undefined));
    });
    try {
      await serving;
      const started = performance.now();

      const exit = await service!.stop('SIGTERM', EXIT_BOUND_MS);

      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(performance.now() - started >= GRACE_MS, 'it waited for the grace period before cancelling');
      await service!.waitForLog((entry) => entry['msg'] === 'data service stopped');
      const error = await ended;
      assert.ok(error, 'the stream must end with an error status, not a clean end');
      assert.ok([Code.CANCELLED, Code.UNAVAILABLE].includes(error.code), `stream ended with ${Code[error.code]}`);
      assert.equal(seen.at(-1), Serving.NOT_SERVING);
    } finally {
      stream.cancel();
      health.close();
    }
  });
});

describe('stopping the worker process', () => {
  it('when it gets SIGTERM, then it logs "worker stopped" and exits 0', async () => {
    const worker = startServiceProcess('worker', {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      REDIS_URL: loadConfig().redis.url,
    });
    try {
      await worker.waitForLog((entry) => String(entry['msg']).startsWith('worker started'));

      const exit = await worker.stop('SIGTERM', 5_000);

      assert.deepEqual(exit, { code: 0, signal: null });
      await worker.waitForLog((entry) => entry['msg'] === 'worker stopped');
    } finally {
      await worker.stop('SIGKILL');
    }
  });
});
