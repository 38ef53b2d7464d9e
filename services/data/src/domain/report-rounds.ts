interface WaitingBatch<Report, Outcome> {
  readonly reports: readonly Report[];
  readonly resolve: (outcomes: Outcome[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for worker reports: a batch that arrives while a round is being recorded waits, and the
 * batches that piled up by the end of that round are recorded together in the next one. A transaction
 * and its statements cost about the same for 30 reports as for 100, and with several workers the
 * batches of all of them arrive at about the same time. A batch that arrives while nothing runs is
 * recorded at once, so an idle service adds no wait.
 *
 * A round never names a job twice (a batch that shares a job with the round waits for the next one)
 * and holds at most `maxReports` reports unless a single batch is larger. If a round of several
 * batches fails, each batch is recorded again on its own, so that one batch the database refuses
 * fails only its own caller.
 */
export function createReportRounds<Report extends { readonly jobId: string }, Outcome>(
  record: (reports: readonly Report[]) => Promise<Outcome[]>,
  maxReports: number,
): (reports: readonly Report[]) => Promise<Outcome[]> {
  let waiting: Array<WaitingBatch<Report, Outcome>> = [];
  let running = false;

  function takeRound(): Array<WaitingBatch<Report, Outcome>> {
    const jobs = new Set<string>();
    const round: Array<WaitingBatch<Report, Outcome>> = [];
    const rest: Array<WaitingBatch<Report, Outcome>> = [];
    let size = 0;
    for (const batch of waiting) {
      const fits = round.length === 0 || size + batch.reports.length <= maxReports;
      if (fits && batch.reports.every((report) => !jobs.has(report.jobId))) {
        for (const report of batch.reports) jobs.add(report.jobId);
        size += batch.reports.length;
        round.push(batch);
      } else {
        rest.push(batch);
      }
    }
    waiting = rest;
    return round;
  }

  async function recordAlone(batch: WaitingBatch<Report, Outcome>): Promise<void> {
    try {
      batch.resolve(await record(batch.reports));
    } catch (error) {
      batch.reject(error);
    }
  }

  async function recordRound(round: ReadonlyArray<WaitingBatch<Report, Outcome>>): Promise<void> {
    const [only] = round;
    if (round.length === 1 && only) return recordAlone(only);
    let outcomes: Outcome[];
    try {
      outcomes = await record(round.flatMap((batch) => batch.reports));
    } catch {
      for (const batch of round) await recordAlone(batch);
      return;
    }
    let start = 0;
    for (const batch of round) {
      batch.resolve(outcomes.slice(start, start + batch.reports.length));
      start += batch.reports.length;
    }
  }

  async function run(): Promise<void> {
    running = true;
    while (waiting.length > 0) await recordRound(takeRound());
    running = false;
  }

  return (reports) =>
    new Promise<Outcome[]>((resolve, reject) => {
      waiting.push({ reports, resolve, reject });
      if (!running) void run();
    });
}
