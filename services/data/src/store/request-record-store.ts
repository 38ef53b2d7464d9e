import type { Models } from './models';
import { asTransaction, translateUniqueViolation, type Tx } from './transaction';

/**
 * Remembers which resource a create with a request_id made (AIP-155), keyed by method and request id,
 * so that a retried create returns the first result.
 */
export function createRequestRecordStore({ RequestRecord }: Models) {
  async function findResourceId(method: string, requestId: string): Promise<string | null> {
    const row = await RequestRecord.findOne({ where: { method, requestId } });
    return row?.resourceId ?? null;
  }

  /** Throws UniqueViolationError when another call already claimed this request id. */
  async function claim(tx: Tx, method: string, requestId: string, resourceId: string): Promise<void> {
    await translateUniqueViolation(() =>
      RequestRecord.create({ method, requestId, resourceId }, { transaction: asTransaction(tx) }),
    );
  }

  return { findResourceId, claim };
}

export type RequestRecordStore = ReturnType<typeof createRequestRecordStore>;
