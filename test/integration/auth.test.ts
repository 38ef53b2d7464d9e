import assert from 'node:assert/strict';
import { Metadata, status as Code } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { WorkerServiceClient } from '../../proto/gen/tandem/v1/worker';
import { newId } from '../../services/data/src/domain/ids';
import { bearer, connect, detailsOf, expectCode, promiseClient, type PromiseClient } from '../support/grpc-client';
import { openReflection } from '../support/reflection-client';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';

const CLIENT_TOKEN = 'client-token-'.padEnd(24, 'c');
const WORKER_TOKEN = 'worker-token-'.padEnd(24, 'w');

/** Asks grpc.reflection.v1 for its service list, as grpcurl `list` does, with no token. */
async function listServicesByReflection(address: string): Promise<string[]> {
  const reflection = openReflection(address, 'v1');
  try {
    return await reflection.listServices();
  } finally {
    reflection.close();
  }
}

async function checkUntilServing(address: string, metadata: Metadata, timeoutMs = 5_000): Promise<void> {
  const client = connect(HealthClient, address);
  try {
    const health = promiseClient(client);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status } = await health.check({ service: '' }, metadata);
      if (status === Serving.SERVING) return;
      if (Date.now() > deadline) assert.fail(`health stayed ${Serving[status]}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.close();
  }
}

function startAttemptRequest() {
  return { jobId: newId(), attempt: 1, workerId: 'auth-test-worker' };
}

function createUserRequest() {
  return { user: { ...newUserInput(), id: '', orderCount: '0', etag: '' }, requestId: '' };
}

describe('auth with client and worker tokens configured', () => {
  let service: TestDataService;
  let workerClient: WorkerServiceClient;
  let workers: PromiseClient<WorkerServiceClient>;
  before(async () => {
    service = await startTestDataService('sqlite', {
      'auth.clientTokens': [CLIENT_TOKEN],
      'auth.workerTokens': [WORKER_TOKEN],
    });
    workerClient = connect(WorkerServiceClient, service.address);
    workers = promiseClient(workerClient);
  });
  after(async () => {
    workerClient.close();
    await service.destroy();
  });

  it('when a call carries no authorization, then it is UNAUTHENTICATED before the request is validated', async () => {
    const error = await expectCode(service.users.getUser({ id: 'not-a-uuid' }), Code.UNAUTHENTICATED);

    assert.equal(detailsOf(error).errorInfo?.reason, 'UNAUTHENTICATED');
  });

  it('when a call carries an unknown token, then it is UNAUTHENTICATED', async () => {
    await expectCode(service.users.getUser({ id: newId() }, bearer('not-a-configured-token')), Code.UNAUTHENTICATED);
    await expectCode(service.users.createUser(createUserRequest(), bearer(`${CLIENT_TOKEN}x`)), Code.UNAUTHENTICATED);
  });

  it('when a client token is sent, then UserService serves the call', async () => {
    const created = await service.users.createUser(createUserRequest(), bearer(CLIENT_TOKEN));

    const read = await service.users.getUser({ id: created.id }, bearer(CLIENT_TOKEN));

    assert.equal(read.username, created.username);
  });

  it('when a client token calls WorkerService, then it is PERMISSION_DENIED', async () => {
    const error = await expectCode(
      workers.startAttempt(startAttemptRequest(), bearer(CLIENT_TOKEN)),
      Code.PERMISSION_DENIED,
    );

    assert.equal(detailsOf(error).errorInfo?.reason, 'PERMISSION_DENIED');
  });

  it('when a worker token calls WorkerService, then the call gets past auth', async () => {
    await expectCode(workers.startAttempt(startAttemptRequest(), bearer(WORKER_TOKEN)), Code.NOT_FOUND);
  });

  it('when health is checked without a token, then it answers SERVING', async () => {
    await checkUntilServing(service.address, new Metadata());
  });

  it('when reflection is asked for its services without a token, then it lists them', async () => {
    const names = await listServicesByReflection(service.address);

    for (const name of ['grpc.health.v1.Health', 'tandem.v1.UserService', 'tandem.v1.WorkerService']) {
      assert.ok(names.includes(name), `${name} is missing from ${names.join(', ')}`);
    }
  });
});

describe('auth with no token configured', () => {
  let service: TestDataService;
  before(async () => {
    service = await startTestDataService('sqlite');
  });
  after(async () => {
    await service.destroy();
  });

  it('when a call carries no authorization, then it is served', async () => {
    const created = await service.users.createUser(createUserRequest());

    assert.equal((await service.users.getUser({ id: created.id })).id, created.id);
  });

  it('when a call carries some token, then it is served all the same', async () => {
    await expectCode(service.users.getUser({ id: newId() }, bearer('whatever-token')), Code.NOT_FOUND);
  });
});
