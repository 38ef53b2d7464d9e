import { Op } from 'sequelize';
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

  /** Deletes up to `limit` of the records made before `cutoff`, oldest first; answers how many. */
  async function deleteCreatedBefore(tx: Tx, cutoff: Date, limit: number): Promise<number> {
    const transaction = asTransaction(tx);
    const rows = await RequestRecord.findAll({
      attributes: ['method', 'requestId'],
      where: { createdAt: { [Op.lt]: cutoff } },
      order: [['createdAt', 'ASC']],
      limit,
      transaction,
    });
    if (rows.length === 0) return 0;
    return RequestRecord.destroy({
      where: { [Op.or]: rows.map(({ method, requestId }) => ({ method, requestId })) },
      transaction,
    });
  }

  return { findResourceId, claim, deleteCreatedBefore };
}

export type RequestRecordStore = ReturnType<typeof createRequestRecordStore>;
