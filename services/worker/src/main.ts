import { runMain } from '../../shared/run-main';
import { startWorkerService } from './worker-service';

runMain('tandem-worker', startWorkerService);
