import type { OrderRecord, Store, Tx } from '../store';
import { AbortedError, FailedPreconditionError, NotFoundError } from './errors';
import { etagMatches, etagOf } from './etag';
import { checkId } from './ids';
import { createOnce } from './idempotent-create';
import { readPagePosition, toPage, type Page } from './pagination';
import { invalid, Violations } from './violations';

export type OrderStatus = 'pending' | 'paid' | 'shipped' | 'cancelled';

export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly etag: string;
}

export interface NewOrder {
  readonly userId: string;
  /** The int64 amount as the decimal text it arrives in, so that out-of-range values can be refused. */
  readonly amountMinor: string;
  readonly currency: string;
}

export interface OrderQuery {
  readonly pageSize: number;
  readonly pageToken: string;
  readonly userId: string;
  readonly status: OrderStatus | undefined;
}

/** The moves an order may make; staying in the same status is always allowed and changes nothing. */
const NEXT_STATUSES: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: [],
  cancelled: [],
};

const AMOUNT = /^[1-9]\d{0,15}$/;
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

function toOrder(record: OrderRecord): Order {
  const { version, ...fields } = record;
  return { ...fields, status: record.status as OrderStatus, etag: etagOf(version) };
}

function staleEtag(id: string): AbortedError {
  return new AbortedError('ETAG_MISMATCH', `order ${id} changed since it was read; read it again and retry`, { id });
}

/** The rules of orders: the user is checked by an explicit query, and its order_count moves with them. */
export function createOrders(store: Store) {
  async function findOrThrow(id: string, tx?: Tx): Promise<OrderRecord> {
    const record = await store.orders.find(id, tx);
    if (!record) throw new NotFoundError('order', id);
    return record;
  }

  async function get(id: string): Promise<Order> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    return toOrder(await findOrThrow(id));
  }

  async function placeOrder(tx: Tx, id: string, order: NewOrder): Promise<Order> {
    const user = await store.users.find(order.userId, tx, true);
    if (!user) throw new NotFoundError('user', order.userId);
    if (user.deletedAt) {
      throw new FailedPreconditionError('USER_DELETED', `user ${user.id} is deleted`, { userId: user.id });
    }
    if (user.status !== 'active') {
      throw new FailedPreconditionError('USER_DISABLED', `user ${user.id} is disabled`, { userId: user.id });
    }
    const record = await store.orders.insert(tx, {
      id,
      userId: user.id,
      amountMinor: Number(order.amountMinor),
      currency: order.currency,
      status: 'pending',
    });
    await store.users.addToOrderCount(tx, user.id, 1);
    return toOrder(record);
  }

  /** `violations` may already hold what the caller found wrong with the request's shape. */
  async function create(order: NewOrder, requestId: string, violations = new Violations()): Promise<Order> {
    checkId(violations, order.userId, 'order.user_id');
    violations.check(
      AMOUNT.test(order.amountMinor) && Number.isSafeInteger(Number(order.amountMinor)),
      'order.amount_minor',
      `must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`,
    );
    violations.check(CURRENCIES.has(order.currency), 'order.currency', 'must be an ISO 4217 code such as EUR');
    checkId(violations, requestId, 'request_id', true);
    violations.throwIfAny();
    return createOnce(store, {
      method: 'CreateOrder',
      requestId,
      create: (tx, id) => placeOrder(tx, id, order),
      load: get,
    });
  }

  async function list(query: OrderQuery, violations = new Violations()): Promise<Page<Order>> {
    checkId(violations, query.userId, 'user_id', true);
    const filters = { userId: query.userId || undefined, status: query.status };
    const { afterId, limit } = readPagePosition(violations, query.pageSize, query.pageToken, filters);
    violations.throwIfAny();
    const records = await store.orders.list({ ...filters, afterId, limit: limit + 1 });
    const page = toPage(records, limit, filters, (record) => record.id);
    return { items: page.items.map(toOrder), nextPageToken: page.nextPageToken };
  }

  /** `status` is undefined when the request named none; `violations` may hold the request's shape errors. */
  async function updateStatus(
    id: string,
    etag: string,
    requested: OrderStatus | undefined,
    violations = new Violations(),
  ): Promise<Order> {
    checkId(violations, id, 'order.id');
    violations.throwIfAny();
    const status = requested ?? invalid('order.status', 'is required: it is the only mutable field');
    await store.inTransaction(async (tx) => {
      const current = await findOrThrow(id, tx);
      if (!etagMatches(etag, current.version)) throw staleEtag(id);
      if (current.status === status) return;
      if (!NEXT_STATUSES[current.status as OrderStatus].includes(status)) {
        throw new FailedPreconditionError(
          'INVALID_ORDER_TRANSITION',
          `an order cannot move from ${current.status} to ${status}`,
          {
            id,
            from: current.status,
            to: status,
          },
        );
      }
      if (!(await store.orders.updateStatus(tx, id, current.version, status))) throw staleEtag(id);
    });
    return get(id);
  }

  async function remove(id: string, etag: string): Promise<void> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    await store.inTransaction(async (tx) => {
      const current = await findOrThrow(id, tx);
      if (!etagMatches(etag, current.version) || !(await store.orders.remove(tx, id, current.version))) {
        throw staleEtag(id);
      }
      await store.users.addToOrderCount(tx, current.userId, -1);
    });
  }

  return { create, get, list, updateStatus, remove };
}

export type Orders = ReturnType<typeof createOrders>;
