import { runMain } from '../../shared/run-main';
import { startDataService } from './data-service';

runMain('tandem-data', startDataService);
