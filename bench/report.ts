/** The bench's outputs: one table on stdout, bench/results/latest.json and BENCHMARKS.md. */
import fs from 'node:fs';
import path from 'node:path';
import prettier from 'prettier';
import type { CrudFigures, CrudRow } from './crud';
import type { BareJobsRow, TandemJobsRow } from './jobs';
import type { BacklogResult, LatencyResult } from './latency';
import { ROOT } from './processes';

export interface Meta {
  readonly date: string;
  /** The npm command that reproduces the run, and what npm runs for it. */
  readonly command: string;
  readonly nodeCommand: string;
  readonly mode: 'full' | 'quick';
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly os: string;
  readonly versions: {
    readonly node: string;
    readonly tandem: string;
    readonly postgres: string;
    readonly redis: string;
  };
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter: readonly number[];
  /** Share of the machine's CPU busy in the second before the bench started (other people's work). */
  readonly machineBusyBefore: number;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly durationSeconds: number;
}

export interface MemoryRow {
  readonly dialect: string;
  readonly dataServiceIdle: number;
  readonly dataServiceAfterJobs: number;
  readonly dataServicePeak: number;
  readonly workerIdle: number;
  /** At the end of the most demanding run (the most concurrency, then the most workers). */
  readonly workerAfterJobs: number;
  readonly workerPeak: number;
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

export interface Results {
  readonly meta: Meta;
  readonly crud: readonly CrudRow[];
  readonly jobs: readonly TandemJobsRow[];
  readonly bare: readonly BareJobsRow[];
  readonly latency: readonly LatencyResult[];
  readonly backlog: readonly BacklogResult[];
  readonly memory: readonly MemoryRow[];
  readonly scaling: string;
  readonly targets: readonly Target[];
  readonly notes: readonly string[];
}

interface TableRow {
  readonly benchmark: string;
  readonly db: string;
  readonly tandem: string;
  readonly bare: string;
  readonly ratio: string;
}

const HEADERS: TableRow = { benchmark: 'Benchmark', db: 'DB', tandem: 'Tandem', bare: 'Bare', ratio: 'Tandem/bare' };
const COLUMNS = ['benchmark', 'db', 'tandem', 'bare', 'ratio'] as const;

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function rate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function mb(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

function crudFigure(figures: CrudFigures): string {
  const errors = figures.errors > 0 ? ` (${figures.errors} errors)` : '';
  return `${rate(figures.callsPerSecond)}/s p50 ${ms(figures.p50Ms)} p99 ${ms(figures.p99Ms)} ms${errors}`;
}

function jobsLabel(row: { variant?: string; workers: number; concurrency: number }): string {
  const variant = row.variant === 'enqueue' ? 'Enqueue x64 in flight' : 'BatchEnqueue 500';
  return `Jobs, ${variant}, ${row.workers} worker${row.workers > 1 ? 's' : ''} x c${row.concurrency}`;
}

export function findBare(results: Pick<Results, 'bare'>, row: TandemJobsRow): BareJobsRow | undefined {
  return results.bare.find(
    (bare) => bare.workers === row.workers && bare.concurrency === row.concurrency && bare.jobs === row.jobs,
  );
}

function tableRows(results: Results): TableRow[] {
  const rows: TableRow[] = [];
  for (const row of results.crud) {
    rows.push({
      benchmark: `${row.method}, ${row.inFlight} in flight`,
      db: row.dialect,
      tandem: crudFigure(row.tandem),
      bare: crudFigure(row.bare),
      ratio: ratio(row.ratio),
    });
  }
  for (const row of results.jobs) {
    const bare = findBare(results, row);
    const incomplete = row.capped
      ? ` (${rate(row.succeeded)} of ${rate(row.jobs)} done in ${Math.round(row.capMs / 1000)} s)`
      : '';
    rows.push({
      benchmark: jobsLabel(row),
      db: row.dialect,
      tandem: `${rate(row.jobsPerSecond)} jobs/s${incomplete}${row.enqueueErrors > 0 ? ` (${row.enqueueErrors} enqueue errors)` : ''}${row.dead > 0 ? ` (${row.dead} died)` : ''}`,
      bare: bare
        ? `${rate(bare.jobsPerSecond)} jobs/s${bare.capped ? ` (${rate(bare.done)} of ${rate(bare.jobs)} done)` : ''}`
        : '-',
      ratio: bare ? ratio(row.jobsPerSecond / bare.jobsPerSecond) : '-',
    });
  }
  for (const row of results.latency) {
    rows.push({
      benchmark: `Enqueue-to-start at ${row.ratePerSecond} jobs/s, ${row.workers} worker x c${row.concurrency}`,
      db: row.dialect,
      tandem:
        row.notStarted > 0
          ? `p50 >= ${ms(row.startP50Ms)} p99 >= ${ms(row.startP99Ms)} ms (${row.notStarted} of ${row.jobs} never started)`
          : `p50 ${ms(row.startP50Ms)} p99 ${ms(row.startP99Ms)} ms (dispatch p50 ${ms(row.dispatchP50Ms)} p99 ${ms(row.dispatchP99Ms)})`,
      bare: '-',
      ratio: '-',
    });
  }
  for (const row of results.backlog) {
    const drained = row.drainedAfterMs === undefined ? 'not drained' : `drained ${ms(row.drainedAfterMs / 1000)} s`;
    rows.push({
      benchmark: `Backlog: ${rate(row.ratePerSecond)} jobs/s for ${row.durationMs / 1000} s, ${row.workers} worker x c${row.concurrency}`,
      db: row.dialect,
      tandem: `oldest waiting ${ms(row.maxOldestWaitingMs / 1000)} s, oldest pending ${ms(row.maxOldestPendingMs / 1000)} s, ${drained}`,
      bare: '-',
      ratio: '-',
    });
  }
  for (const row of results.memory) {
    rows.push({
      benchmark: 'RSS data service: idle / after jobs / peak',
      db: row.dialect,
      tandem: `${mb(row.dataServiceIdle)} / ${mb(row.dataServiceAfterJobs)} / ${mb(row.dataServicePeak)}`,
      bare: '-',
      ratio: '-',
    });
    rows.push({
      benchmark: 'RSS worker: idle / after jobs / peak',
      db: row.dialect,
      tandem: `${mb(row.workerIdle)} / ${mb(row.workerAfterJobs)} / ${mb(row.workerPeak)}`,
      bare: '-',
      ratio: '-',
    });
  }
  return rows;
}

function textTable(rows: readonly TableRow[]): string {
  const all = [HEADERS, ...rows];
  const widths = COLUMNS.map((column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row: TableRow): string =>
    COLUMNS.map((column, index) => row[column].padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(HEADERS), rule, ...rows.map(line)].join('\n');
}

function markdownTable(rows: readonly TableRow[]): string {
  const line = (row: TableRow): string => `| ${COLUMNS.map((column) => row[column]).join(' | ')} |`;
  return [line(HEADERS), `|${COLUMNS.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** Every run of bare bee-queue, so that the spread behind each median shows. */
function bareRunsNote(bare: readonly BareJobsRow[]): string[] {
  if (bare.length === 0) return [];
  const shapes = bare.map((row) => `${row.workers} worker(s) x c${row.concurrency}: ${row.runs.map(rate).join(' / ')}`);
  return [`Bare bee-queue, jobs/s of each run (the median is the figure): ${shapes.join('; ')}`];
}

/** The backlog samples, thinned to about a dozen points (the last always kept). */
function backlogSeries(row: BacklogResult): string {
  const step = Math.ceil(row.samples.length / 12);
  const kept = row.samples.filter((_entry, index) => index % step === 0 || index === row.samples.length - 1);
  const points = kept.map(
    (entry) =>
      `${(entry.atMs / 1000).toFixed(1)}s: ${entry.pending + entry.queued} waiting, oldest ${ms(entry.oldestWaitingMs / 1000)} s`,
  );
  return `Backlog on ${row.dialect} (jobs pending or queued, and the age of the oldest not yet started): ${points.join('; ')}`;
}

export function noiseNote(meta: Meta): string {
  const load = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(' ');
  return (
    `Noise: ${meta.cpuCount} cores shared by the services, PostgreSQL, Redis, the load generator and anyone else ` +
    `(machine ${Math.round(meta.machineBusyBefore * 100)}% busy before the start; load average ${load(meta.loadAverageBefore)} ` +
    `before, ${load(meta.loadAverageAfter)} after): compare Tandem/bare ratios within one run, not absolute numbers across runs.`
  );
}

function header(meta: Meta): string[] {
  const { versions } = meta;
  return [
    `Command: ${meta.command}   (runs: ${meta.nodeCommand})`,
    `Date: ${meta.date}   mode: ${meta.mode}   run time: ${Math.round(meta.durationSeconds)} s (build excluded)`,
    `Machine: ${meta.cpuModel}, ${meta.cpuCount} CPUs, ${meta.os}`,
    `Versions: Node ${versions.node}, Tandem ${versions.tandem}, PostgreSQL ${versions.postgres}, Redis ${versions.redis}`,
  ];
}

function targetLines(targets: readonly Target[]): string[] {
  return targets.map(
    (target) =>
      `${target.met === undefined ? 'n/a ' : target.met ? 'MET ' : 'MISS'}  ${target.name}: ${target.measured}`,
  );
}

export function printReport(results: Results): string {
  const rows = tableRows(results);
  return [
    ...header(results.meta),
    '',
    textTable(rows),
    '',
    'Targets:',
    ...targetLines(results.targets).map((line) => `  ${line}`),
    '',
    results.scaling,
    ...bareRunsNote(results.bare),
    ...results.backlog.map(backlogSeries),
    ...results.notes,
    noiseNote(results.meta),
  ].join('\n');
}

export function markdownReport(results: Results): string {
  const { meta } = results;
  const rows = tableRows(results);
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts); the next run rewrites this file. Raw figures: \`bench/results/latest.json\` (not committed).`,
    '',
    `- Date: ${meta.date} (${meta.mode} run, ${Math.round(meta.durationSeconds)} s)`,
    `- Command: \`${meta.command}\` (runs \`${meta.nodeCommand}\`)`,
    `- Machine: ${meta.cpuModel}, ${meta.cpuCount} CPUs (os.cpus()), ${meta.os}`,
    `- Versions: Node ${meta.versions.node}, Tandem ${meta.versions.tandem}, PostgreSQL ${meta.versions.postgres}, Redis ${meta.versions.redis}`,
    `- ${noiseNote(meta)}`,
    '',
    markdownTable(rows),
    '',
    '## Targets',
    '',
    '| Target | Measured | Met |',
    '|---|---|---|',
    ...results.targets.map(
      (target) =>
        `| ${target.name} | ${target.measured} | ${target.met === undefined ? 'n/a' : target.met ? 'yes' : 'no'} |`,
    ),
    '',
    '## Notes',
    '',
    `- ${results.scaling}`,
    ...bareRunsNote(results.bare).map((note) => `- ${note}`),
    ...results.backlog.map((row) => `- ${backlogSeries(row)}`),
    ...results.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

/**
 * Writes bench/results/latest.json and BENCHMARKS.md (formatted with the repository's Prettier settings,
 * so that `prettier --check .` stays clean); answers their paths.
 */
export async function writeReports(results: Results): Promise<{ json: string; markdown: string }> {
  const json = path.join(ROOT, 'bench', 'results', 'latest.json');
  const markdown = path.join(ROOT, 'BENCHMARKS.md');
  fs.mkdirSync(path.dirname(json), { recursive: true });
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const options = (await prettier.resolveConfig(markdown)) ?? {};
  fs.writeFileSync(markdown, await prettier.format(markdownReport(results), { ...options, parser: 'markdown' }));
  return { json, markdown };
}
