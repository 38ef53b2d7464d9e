import type { Store, Tx } from '../store';

/**
 * Runs `deleteBatch` in one transaction after another until a round deletes fewer than `batch` rows, so
 * that a long backlog never holds locks for long. Answers how many rows were deleted in all.
 */
export async function deleteInBatches(
  store: Store,
  batch: number,
  deleteBatch: (tx: Tx) => Promise<number>,
): Promise<number> {
  let deleted = 0;
  for (let removed = batch; removed === batch;) {
    removed = await store.inTransaction(deleteBatch);
    deleted += removed;
  }
  return deleted;
}
