/** Conclusions drawn from the figures: the targets, where scaling flattens, memory per database. */
import type { CrudRow } from './crud';
import { PEAK_WINDOW_MS, type BareJobsRow, type TandemJobsRow } from './jobs';
import type { LatencyResult } from './latency';
import { findBare, mb, rate, ratio, type MemoryRow, type Target } from './report';

const WORKER_RSS_LIMIT = 150 * 2 ** 20;

/** The run the jobs target is about: PostgreSQL, BatchEnqueue, 3 workers at concurrency 50. */
function headlineRun(jobs: readonly TandemJobsRow[]): TandemJobsRow | undefined {
  return jobs.find(
    (row) => row.dialect === 'postgres' && row.variant === 'batch' && row.workers === 3 && row.concurrency === 50,
  );
}

export function targets(
  crud: readonly CrudRow[],
  jobs: readonly TandemJobsRow[],
  bare: readonly BareJobsRow[],
  latency: readonly LatencyResult[],
  memory: readonly MemoryRow[],
): Target[] {
  const list: Target[] = [];
  const jobsRow = headlineRun(jobs);
  const bareRow = jobsRow && findBare({ bare }, jobsRow);
  const jobsRatio = jobsRow && bareRow ? jobsRow.jobsPerSecond / bareRow.jobsPerSecond : undefined;
  list.push({
    name: 'PostgreSQL jobs end to end, c50 x 3 workers >= 0.3x bare bee-queue',
    measured: jobsRatio === undefined ? 'not measured' : `${jobsRatio.toFixed(2)}x`,
    met: jobsRatio === undefined ? undefined : jobsRatio >= 0.3,
  });
  for (const row of crud.filter((entry) => entry.method === 'GetUser' && entry.inFlight === 64)) {
    list.push({
      name: `GetUser at 64 in flight (${row.dialect}) >= 0.7x bare`,
      measured: `${row.ratio.toFixed(2)}x`,
      met: row.ratio >= 0.7,
    });
  }
  for (const row of latency) {
    list.push({
      name: `Enqueue-to-start p50 at ${row.ratePerSecond} jobs/s (${row.dialect}) <= 10 ms`,
      measured: `${row.startP50Ms.toFixed(1)} ms`,
      met: row.startP50Ms <= 10,
    });
  }
  const workerPeak = Math.max(0, ...memory.map((row) => row.workerPeak));
  list.push({
    name: 'Worker RSS <= 150 MB (peak over every run)',
    measured: memory.length === 0 ? 'not measured' : mb(workerPeak),
    met: memory.length === 0 ? undefined : workerPeak <= WORKER_RSS_LIMIT,
  });
  return list;
}

/** Explains, from the measured CPU use, where throughput stops growing with more workers. */
export function scalingNote(jobs: readonly TandemJobsRow[], bare: readonly BareJobsRow[], cpuCount: number): string {
  const series = [1, 2, 3]
    .map((workers) =>
      jobs.find(
        (row) =>
          row.dialect === 'postgres' && row.variant === 'batch' && row.concurrency === 50 && row.workers === workers,
      ),
    )
    .filter((row): row is TandemJobsRow => row !== undefined);
  const last = series[series.length - 1];
  if (series.length < 2 || !last) return 'Scaling: not measured (needs PostgreSQL BatchEnqueue c50 with 1-3 workers).';
  const figures = series.map((row) => {
    const bareRow = findBare({ bare }, row);
    return `${row.workers}: ${Math.round(row.jobsPerSecond)}${bareRow ? ` (bare ${Math.round(bareRow.jobsPerSecond)})` : ''}`;
  });
  let flat: number | undefined;
  for (let index = 1; index < series.length; index += 1) {
    const previous = series[index - 1];
    const current = series[index];
    if (previous && current && current.jobsPerSecond < previous.jobsPerSecond * 1.15) {
      flat = previous.workers;
      break;
    }
  }
  const cores = last.usage.cores;
  const busy = last.usage.machineBusy;
  const typical = last.usage.machineMedianBusy;
  const machine =
    `${Math.round(typical * 100)}% busy in the median ${PEAK_WINDOW_MS} ms, ${Math.round(busy * 100)}% on average, ` +
    `${Math.round(last.usage.machinePeakBusy * 100)}% in the busiest`;
  const shares: Array<[string, number]> = [
    ['data service', cores['dataService'] ?? 0],
    ['workers', cores['workers'] ?? 0],
    ['PostgreSQL backends', cores['database'] ?? 0],
    ['Redis', cores['redis'] ?? 0],
    ['enqueuer', cores['loadGenerator'] ?? 0],
  ];
  const ours = shares.reduce((sum, [, value]) => sum + value, 0);
  shares.push(['everything else (other work included)', Math.max(0, busy * cpuCount - ours)]);
  const data = cores['dataService'] ?? 0;
  const dataPeak = last.usage.peakCores['dataService'] ?? 0;
  const [biggest] = [...shares].sort((a, b) => b[1] - a[1]);
  const where =
    flat === undefined ? 'It still grows at 3 workers' : `It flattens from ${flat} worker${flat > 1 ? 's' : ''} on`;
  const cause =
    data >= 0.7
      ? `the data service's single event loop is ${data >= 0.9 ? '' : 'nearly '}saturated (${data.toFixed(2)} of its 1 core, ` +
        `${Math.round(busy * 100)}% of the machine busy)`
      : typical >= 0.85
        ? `the ${cpuCount} cores are saturated (${machine}), the most by ${biggest?.[0] ?? '?'}`
        : `neither the data service (${data.toFixed(2)} core on average, ${dataPeak.toFixed(2)} in its busiest ${PEAK_WINDOW_MS} ms) ` +
          `nor the ${cpuCount} cores (${machine}) ` +
          `are saturated, so latency is the limit: each job holds its worker's slot through two report rounds, which the data service records one transaction at a time, each waiting on PostgreSQL`;
  const usage = shares.map(([name, value]) => `${name} ${value.toFixed(2)}`).join(', ');
  return (
    `Scaling (PostgreSQL, BatchEnqueue, c50), jobs/s by workers: ${figures.join(', ')}. ${where}: at ${last.workers} ` +
    `workers ${cause}; cores used: ${usage} (of ${cpuCount}).`
  );
}

/**
 * How the headline run went over time. Tandem writes every enqueued job to the database, so the data
 * service and PostgreSQL share the cores between enqueueing and running jobs until the last enqueue call
 * is answered; bare bee-queue's figure counts its own (far cheaper) enqueueing in the same way.
 */
export function phasesNote(jobs: readonly TandemJobsRow[], bare: readonly BareJobsRow[]): string[] {
  const row = headlineRun(jobs);
  if (!row || row.enqueueMs <= 0) return [];
  const during = row.succeededWhileEnqueueing / (row.enqueueMs / 1000);
  const afterMs = row.elapsedMs - row.enqueueMs;
  const after = afterMs > 0 ? (row.succeeded - row.succeededWhileEnqueueing) / (afterMs / 1000) : undefined;
  const bareRow = findBare({ bare }, row);
  const afterText =
    after === undefined
      ? 'none finished after it'
      : `after it, ${rate(after)} jobs/s` +
        (bareRow ? ` (${ratio(after / bareRow.jobsPerSecond)} bare bee-queue's end-to-end figure)` : '');
  return [
    `Phases of the PostgreSQL BatchEnqueue run with 3 workers x c50: while its ${rate(row.enqueued)} jobs ` +
      `were being enqueued (${(row.enqueueMs / 1000).toFixed(1)} s), ${rate(during)} jobs/s succeeded; ${afterText}. ` +
      `Jobs that succeeded in each second of the run: ${row.succeededPerSecond.join(', ')}.`,
  ];
}
