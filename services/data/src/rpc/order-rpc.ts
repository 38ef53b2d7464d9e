import {
  Order as OrderMessage,
  ListOrdersResponse,
  OrderStatus as OrderStatusEnum,
  type OrderServiceServer,
  OrderServiceService,
} from '../../../../proto/gen/tandem/v1/order';
import type { Order, OrderStatus, Orders } from '../domain/orders';
import { invalid, Violations } from '../domain/violations';
import { resolveMask } from './field-mask';
import type { ServiceAdapter } from './service-adapter';

const STATUS_TO_DOMAIN: ReadonlyMap<OrderStatusEnum, OrderStatus> = new Map([
  [OrderStatusEnum.ORDER_STATUS_PENDING, 'pending'],
  [OrderStatusEnum.ORDER_STATUS_PAID, 'paid'],
  [OrderStatusEnum.ORDER_STATUS_SHIPPED, 'shipped'],
  [OrderStatusEnum.ORDER_STATUS_CANCELLED, 'cancelled'],
]);
const STATUS_TO_PROTO: Readonly<Record<OrderStatus, OrderStatusEnum>> = {
  pending: OrderStatusEnum.ORDER_STATUS_PENDING,
  paid: OrderStatusEnum.ORDER_STATUS_PAID,
  shipped: OrderStatusEnum.ORDER_STATUS_SHIPPED,
  cancelled: OrderStatusEnum.ORDER_STATUS_CANCELLED,
};

const ORDER_MASK = { mutable: ['status'], ignored: ['id', 'create_time', 'update_time', 'etag'] };

/** Reads a status; UNSPECIFIED and unknown numbers (recorded as a violation) become undefined. */
function statusOf(value: OrderStatusEnum, field: string, violations: Violations): OrderStatus | undefined {
  if (value === OrderStatusEnum.ORDER_STATUS_UNSPECIFIED) return undefined;
  const status = STATUS_TO_DOMAIN.get(value);
  violations.check(status !== undefined, field, 'is not a known ORDER_STATUS value');
  return status;
}

function toMessage(order: Order): OrderMessage {
  return OrderMessage.fromPartial({
    id: order.id,
    userId: order.userId,
    amountMinor: String(order.amountMinor),
    currency: order.currency,
    status: STATUS_TO_PROTO[order.status],
    createTime: order.createdAt,
    updateTime: order.updatedAt,
    etag: order.etag,
  });
}

/** OrderService over the orders domain. */
export function createOrderRpc(
  adapt: ServiceAdapter,
  orders: Orders,
): [typeof OrderServiceService, OrderServiceServer] {
  return [
    OrderServiceService,
    adapt<OrderServiceServer>(OrderServiceService, {
      createOrder: async ({ order, requestId }) => {
        if (!order) return invalid('order', 'is required');
        const violations = new Violations();
        const status = statusOf(order.status, 'order.status', violations);
        violations.check(status === undefined || status === 'pending', 'order.status', 'a new order is always PENDING');
        const { userId, amountMinor, currency } = order;
        return toMessage(await orders.create({ userId, amountMinor, currency }, requestId, violations));
      },
      getOrder: async ({ id }) => toMessage(await orders.get(id)),
      listOrders: async (request) => {
        const violations = new Violations();
        const query = {
          pageSize: request.pageSize,
          pageToken: request.pageToken,
          userId: request.userId,
          status: statusOf(request.status, 'status', violations),
        };
        const page = await orders.list(query, violations);
        return ListOrdersResponse.fromPartial({ orders: page.items.map(toMessage), nextPageToken: page.nextPageToken });
      },
      updateOrder: async ({ order, updateMask }) => {
        if (!order) return invalid('order', 'is required');
        const violations = new Violations();
        const mask = resolveMask(
          updateMask ?? [],
          ORDER_MASK,
          () => order.status !== OrderStatusEnum.ORDER_STATUS_UNSPECIFIED,
          violations,
        );
        const status = mask.has('status') ? statusOf(order.status, 'order.status', violations) : undefined;
        if (status === undefined && violations.isEmpty()) {
          violations.add(
            'order.status',
            mask.has('status') ? 'must be set when the mask names it' : 'is required: it is the only mutable field',
          );
        }
        return toMessage(await orders.updateStatus(order.id, order.etag, status, violations));
      },
      deleteOrder: async ({ id, etag }) => {
        await orders.remove(id, etag);
        return {};
      },
    }),
  ];
}
