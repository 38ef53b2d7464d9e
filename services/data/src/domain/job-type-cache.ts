import type { JobTypeRecord, Store, Tx } from '../store';

/**
 * Job types as Enqueue and worker starts read them, reused for `ttlMs`: every enqueue and every batch of
 * starts needs its types, a read costs a round trip on the critical path of every job, and a type
 * changes rarely. A change made through this replica is seen at once (`forget`), one made through
 * another replica within `ttlMs`. Only types that exist are kept, so a type created elsewhere is found
 * at the first enqueue that names it.
 */
export function createJobTypeCache(store: Store, ttlMs: number) {
  const known = new Map<string, { readonly record: JobTypeRecord; readonly until: number }>();

  async function findMany(names: readonly string[], tx?: Tx): Promise<JobTypeRecord[]> {
    const now = Date.now();
    const found: JobTypeRecord[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const entry = known.get(name);
      if (entry && entry.until > now) found.push(entry.record);
      else missing.push(name);
    }
    if (missing.length === 0) return found;
    for (const record of await store.jobTypes.findMany(missing, tx)) {
      if (ttlMs > 0) known.set(record.name, { record, until: now + ttlMs });
      found.push(record);
    }
    return found;
  }

  return {
    findMany,
    forget: (): void => {
      known.clear();
    },
  };
}

export type JobTypeCache = ReturnType<typeof createJobTypeCache>;
