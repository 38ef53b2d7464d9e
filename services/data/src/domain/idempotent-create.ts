import { UniqueViolationError, type Store, type Tx } from '../store';
import { deleteInBatches } from './batched-delete';
import { newId } from './ids';

interface CreateOnceOptions<T> {
  /** The RPC the request id belongs to: ids are unique per method. */
  readonly method: string;
  /** Empty when the caller did not ask for idempotency. */
  readonly requestId: string;
  /** Writes the resource with the given id inside the transaction. */
  readonly create: (tx: Tx, id: string) => Promise<T>;
  /** Reads the resource a previous call with the same request id created. */
  readonly load: (id: string) => Promise<T>;
}

/**
 * Runs a create at most once per request id (AIP-155). The request id is claimed in the same
 * transaction as the write, before it, so that concurrent retries collide on the claim and return
 * the first call's resource instead of a duplicate or a spurious ALREADY_EXISTS.
 */
export async function createOnce<T>(store: Store, options: CreateOnceOptions<T>): Promise<T> {
  const { method, requestId, create, load } = options;
  if (requestId !== '') {
    const existingId = await store.requestRecords.findResourceId(method, requestId);
    if (existingId) return load(existingId);
  }
  const id = newId();
  try {
    return await store.inTransaction(async (tx) => {
      if (requestId !== '') await store.requestRecords.claim(tx, method, requestId, id);
      return create(tx, id);
    });
  } catch (error) {
    if (error instanceof UniqueViolationError && error.columns.includes('request_id')) {
      const firstId = await store.requestRecords.findResourceId(method, requestId);
      if (firstId) return load(firstId);
    }
    throw error;
  }
}

/**
 * Forgets the request ids of creates older than `retentionMs`, `batch` rows per transaction, so that
 * the table keeps only the window in which a retry is still expected. Answers how many were deleted.
 */
export async function forgetOldRequestIds(store: Store, retentionMs: number, batch: number): Promise<number> {
  const cutoff = new Date(Date.now() - retentionMs);
  return deleteInBatches(store, batch, (tx) => store.requestRecords.deleteCreatedBefore(tx, cutoff, batch));
}
