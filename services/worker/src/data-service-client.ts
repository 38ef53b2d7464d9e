import { credentials } from '@grpc/grpc-js';
import { UserServiceClient } from '../../../proto/gen/tandem/v1/user';
import { WorkerServiceClient } from '../../../proto/gen/tandem/v1/worker';
import { bearer, promiseClient, type PromiseClient } from '../../shared/grpc-promise-client';

export interface DataServiceClient {
  readonly worker: PromiseClient<WorkerServiceClient>;
  readonly users: PromiseClient<UserServiceClient>;
  close(): void;
}

/** Typed clients of the data service with the worker token and a deadline on every call. */
export function connectDataService(address: string, token: string, deadlineMs: number): DataServiceClient {
  const options = { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };
  const worker = new WorkerServiceClient(address, credentials.createInsecure(), options);
  const users = new UserServiceClient(address, credentials.createInsecure(), options);
  const callOptions = { deadlineMs, metadata: bearer(token) };
  return {
    worker: promiseClient(worker, callOptions),
    users: promiseClient(users, callOptions),
    close: () => {
      worker.close();
      users.close();
    },
  };
}
