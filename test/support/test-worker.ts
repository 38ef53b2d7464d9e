import { loadConfig, type ConfigOverrides } from '../../config';
import type { JobHandler } from '../../services/worker/src/job-handler';
import { startWorkerService, type WorkerService } from '../../services/worker/src/worker-service';
import { createLogger } from '../../services/shared/logger';
import type { TestDataService } from './test-data-service';

/** A real worker in this process, consuming the test data service's queues with the given handlers. */
export async function startTestWorker(
  service: TestDataService,
  handlers: readonly JobHandler[],
  overrides: ConfigOverrides = {},
): Promise<WorkerService> {
  const config = loadConfig({ ...service.workerOverrides, ...overrides });
  return startWorkerService(config, createLogger('tandem-worker-test', config.log.level), handlers);
}
