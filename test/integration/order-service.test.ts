import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client as GrpcClient, credentials, status as Code, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Client as PgClient } from 'pg';
import sqlite3 from 'sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { ListOrdersRequest, Order, OrderStatus, type ListOrdersResponse } from '../../proto/gen/tandem/v1/order';
import { User, UserStatus } from '../../proto/gen/tandem/v1/user';
import { detailsOf, expectCode, expectInvalid } from '../support/grpc-client';
import { DIALECTS } from '../support/test-database';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ETAG = /^W\/"\d+"$/;
const MAX_AMOUNT = '9007199254740991';
/** 99, which no OrderStatus names, as a client built from a newer contract would send it (field 5, varint). */
const UNKNOWN_STATUS = Order.decode(Uint8Array.of(5 << 3, 99)).status;
const MALFORMED_IDS = ['abc', uuidv7().toUpperCase(), ''];
const { ORDER_STATUS_PENDING: PENDING, ORDER_STATUS_PAID: PAID } = OrderStatus;
const { ORDER_STATUS_SHIPPED: SHIPPED, ORDER_STATUS_CANCELLED: CANCELLED } = OrderStatus;

/** Runs `make` for 0..count-1, at most `size` calls at a time. */
async function inBatches<T>(count: number, size: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    const batch = Array.from({ length: Math.min(size, count - start) }, (_, offset) => make(start + offset));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

/** The harness's input for a new user, with its status typed as the enum. */
function userInput(): Pick<User, 'username' | 'email' | 'password' | 'status'> {
  const { username, email, password } = newUserInput();
  return { username, email, password, status: UserStatus.USER_STATUS_UNSPECIFIED };
}

function idsOf(orders: readonly Order[]): string[] {
  return orders.map((order) => order.id);
}

/** Makes every UPDATE of `users` fail, in the test's own database, as a write killed mid-transaction would. */
async function breakUserUpdates(service: TestDataService): Promise<void> {
  const { url } = service.database;
  if (service.dialect === 'postgres') {
    const client = new PgClient({ connectionString: url });
    await client.connect();
    try {
      await client.query(`CREATE FUNCTION fail_user_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'boom'; END $$`);
      await client.query(
        'CREATE TRIGGER users_fail_update BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION fail_user_update()',
      );
    } finally {
      await client.end();
    }
    return;
  }
  const database = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(url.slice('sqlite:'.length), (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      database.exec(
        "CREATE TRIGGER users_fail_update BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'boom'); END",
        (error) => (error ? reject(error) : resolve()),
      );
    });
  } finally {
    await new Promise<void>((resolve, reject) => database.close((error) => (error ? reject(error) : resolve())));
  }
}

/**
 * Sends a CreateOrder whose amount_minor travels as text (a length-delimited field) instead of an
 * int64, which the typed client cannot even encode; expects INVALID_ARGUMENT and answers the error.
 */
async function createOrderWithTextAmount(address: string, userId: string, amount: string): Promise<ServiceError> {
  const order = Order.encode(Order.fromPartial({ userId, currency: 'EUR' }));
  order.uint32((3 << 3) | 2).string(amount);
  const request = new BinaryWriter()
    .uint32((1 << 3) | 2)
    .bytes(order.finish())
    .finish();
  const client = new GrpcClient(address, credentials.createInsecure());
  try {
    return await expectCode(
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          '/tandem.v1.OrderService/CreateOrder',
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          Buffer.from(request),
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      }),
      Code.INVALID_ARGUMENT,
    );
  } finally {
    client.close();
  }
}

for (const dialect of DIALECTS) {
  describe(`OrderService on ${dialect}`, () => {
    let service: TestDataService;
    /** The owner of the orders of tests that look at no user-level state (order_count, orders per user). */
    let customer: User;
    before(async () => {
      service = await startTestDataService(dialect);
      customer = await createUser();
    });
    after(async () => {
      await service.destroy();
    });

    function createUser(fields: Partial<User> = {}): Promise<User> {
      return service.users.createUser({
        user: User.fromPartial({ ...userInput(), ...fields }),
        requestId: '',
      });
    }

    async function orderCountOf(userId: string): Promise<string> {
      return (await service.users.getUser({ id: userId })).orderCount;
    }

    function createOrder(fields: Partial<Order>, requestId = ''): Promise<Order> {
      return service.orders.createOrder({
        order: Order.fromPartial({ amountMinor: '1999', currency: 'EUR', ...fields }),
        requestId,
      });
    }

    function getOrder(id: string): Promise<Order> {
      return service.orders.getOrder({ id });
    }

    function updateOrder(order: Partial<Order>, updateMask?: string[]): Promise<Order> {
      return service.orders.updateOrder({ order: Order.fromPartial(order), updateMask });
    }

    function listOrders(request: Partial<ListOrdersRequest>): Promise<ListOrdersResponse> {
      return service.orders.listOrders(ListOrdersRequest.fromPartial(request));
    }

    /** A new order, moved along `path` (each status in turn). */
    async function orderIn(path: readonly OrderStatus[] = [], userId = customer.id): Promise<Order> {
      let order = await createOrder({ userId });
      for (const status of path) order = await updateOrder({ id: order.id, status });
      return order;
    }

    describe('CreateOrder', () => {
      it('places a pending order and raises the user order_count to 1', async () => {
        const user = await createUser();

        const order = await createOrder({ userId: user.id, amountMinor: '1999', currency: 'EUR' });

        assert.match(order.id, UUID_V7);
        assert.match(order.etag, ETAG);
        assert.equal(order.userId, user.id);
        assert.equal(order.amountMinor, '1999');
        assert.equal(order.currency, 'EUR');
        assert.equal(order.status, PENDING);
        assert.ok(order.createTime instanceof Date);
        assert.deepEqual(await getOrder(order.id), order);
        assert.equal(await orderCountOf(user.id), '1');
      });

      it(`accepts the largest amount, ${MAX_AMOUNT}, and returns it exactly`, async () => {
        const order = await createOrder({ userId: customer.id, amountMinor: MAX_AMOUNT });

        assert.equal(order.amountMinor, MAX_AMOUNT);
        assert.equal((await getOrder(order.id)).amountMinor, MAX_AMOUNT);
      });

      it('accepts an explicit PENDING status', async () => {
        const order = await createOrder({ userId: customer.id, status: PENDING });

        assert.equal(order.status, PENDING);
      });

      const invalidCases: ReadonlyArray<readonly [string, Partial<Order>, string]> = [
        ['an amount of 0', { amountMinor: '0' }, 'order.amount_minor'],
        ['a negative amount', { amountMinor: '-5' }, 'order.amount_minor'],
        ['an amount above 9007199254740991', { amountMinor: '9007199254740992' }, 'order.amount_minor'],
        ['the unknown currency XXX', { currency: 'XXX' }, 'order.currency'],
        ['a lowercase currency', { currency: 'eur' }, 'order.currency'],
        ['an empty currency', { currency: '' }, 'order.currency'],
        ['a new order with status PAID', { status: PAID }, 'order.status'],
        ['an unknown status number', { status: UNKNOWN_STATUS }, 'order.status'],
      ];
      for (const [what, fields, path] of invalidCases) {
        it(`rejects ${what} with INVALID_ARGUMENT on ${path} and places nothing`, async () => {
          const user = await createUser();

          const fieldsInError = await expectInvalid(createOrder({ userId: user.id, ...fields }));

          assert.deepEqual(fieldsInError, [path]);
          assert.deepEqual((await listOrders({ userId: user.id })).orders, []);
          assert.equal(await orderCountOf(user.id), '0');
        });
      }

      it('rejects malformed user ids with INVALID_ARGUMENT on order.user_id', async () => {
        for (const userId of MALFORMED_IDS) {
          const fieldsInError = await expectInvalid(createOrder({ userId }));
          assert.deepEqual(fieldsInError, ['order.user_id'], `user id ${JSON.stringify(userId)}`);
        }
      });

      it('rejects an amount sent as text instead of an int64 with INVALID_ARGUMENT on order.amount_minor', async () => {
        const user = await createUser();

        const error = await createOrderWithTextAmount(service.address, user.id, 'abc');

        assert.deepEqual(
          detailsOf(error).fieldViolations.map((violation) => violation.field),
          ['order.amount_minor'],
        );
        assert.equal(await orderCountOf(user.id), '0');
      });

      it('lists every invalid field in one INVALID_ARGUMENT', async () => {
        const fieldsInError = await expectInvalid(
          createOrder({ userId: 'abc', amountMinor: '0', currency: 'eur' }, 'not-a-uuid'),
        );

        assert.deepEqual(fieldsInError, ['order.user_id', 'order.amount_minor', 'order.currency', 'request_id']);
      });

      it('rejects a request without an order with INVALID_ARGUMENT on order', async () => {
        assert.deepEqual(await expectInvalid(service.orders.createOrder({ order: undefined, requestId: '' })), [
          'order',
        ]);
      });

      it('rejects a request_id that is not a UUID with INVALID_ARGUMENT on request_id', async () => {
        assert.deepEqual(await expectInvalid(createOrder({ userId: customer.id }, 'retry-1')), ['request_id']);
      });

      it('answers NOT_FOUND for a user nobody has', async () => {
        await expectCode(createOrder({ userId: uuidv7() }), Code.NOT_FOUND);
      });

      it('refuses an order for a disabled user with FAILED_PRECONDITION', async () => {
        const user = await createUser({ status: UserStatus.USER_STATUS_DISABLED });

        await expectCode(createOrder({ userId: user.id }), Code.FAILED_PRECONDITION);

        assert.deepEqual((await listOrders({ userId: user.id })).orders, []);
        assert.equal(await orderCountOf(user.id), '0');
      });

      it('refuses an order for a deleted user with FAILED_PRECONDITION', async () => {
        const user = await createUser();
        await service.users.deleteUser({ id: user.id, etag: '' });

        await expectCode(createOrder({ userId: user.id }), Code.FAILED_PRECONDITION);

        assert.deepEqual((await listOrders({ userId: user.id })).orders, []);
        assert.equal(await orderCountOf(user.id), '0');
      });

      it('returns the first order and places nothing new when a request_id is repeated', async () => {
        const user = await createUser();
        const requestId = randomUUID();
        const first = await createOrder({ userId: user.id }, requestId);

        const second = await createOrder({ userId: user.id }, requestId);

        assert.deepEqual(second, first);
        assert.deepEqual(idsOf((await listOrders({ userId: user.id })).orders), [first.id]);
        assert.equal(await orderCountOf(user.id), '1');
      });

      it('places exactly one order when 10 calls with one request_id run concurrently', async () => {
        const user = await createUser();
        const requestId = randomUUID();

        const results = await Promise.all(
          Array.from({ length: 10 }, () => createOrder({ userId: user.id }, requestId)),
        );

        const listed = await listOrders({ userId: user.id });
        assert.equal(listed.orders.length, 1);
        assert.deepEqual(new Set(idsOf(results)), new Set(idsOf(listed.orders)));
        assert.equal(await orderCountOf(user.id), '1');
      });

      it('keeps request ids apart per method: one id may create a user and then an order', async () => {
        const requestId = randomUUID();
        const user = await service.users.createUser({
          user: User.fromPartial(userInput()),
          requestId,
        });

        const order = await createOrder({ userId: user.id }, requestId);

        assert.equal(order.userId, user.id);
        assert.notEqual(order.id, user.id);
      });

      describe('when the user update fails inside the transaction', () => {
        let broken: TestDataService;
        before(async () => {
          broken = await startTestDataService(dialect);
        });
        after(async () => {
          await broken.destroy();
        });

        it('fails with an INTERNAL that leaks nothing and leaves no order behind', async () => {
          const user = await broken.users.createUser({
            user: User.fromPartial(userInput()),
            requestId: '',
          });
          await breakUserUpdates(broken);

          const error = await expectCode(
            broken.orders.createOrder({
              order: Order.fromPartial({ userId: user.id, amountMinor: '5', currency: 'EUR' }),
              requestId: '',
            }),
            Code.INTERNAL,
          );

          assert.doesNotMatch(error.details, /boom|select|insert|update|trigger|sqlite|postgres|\n\s+at /i);
          const listed = await broken.orders.listOrders(ListOrdersRequest.fromPartial({ userId: user.id }));
          assert.deepEqual(listed.orders, []);
          assert.equal((await broken.users.getUser({ id: user.id })).orderCount, '0');
        });
      });
    });

    describe('GetOrder', () => {
      it('returns the order as placed', async () => {
        const order = await orderIn();

        assert.deepEqual(await getOrder(order.id), order);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on id', async () => {
        for (const id of MALFORMED_IDS) {
          assert.deepEqual(await expectInvalid(getOrder(id)), ['id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(getOrder(uuidv7()), Code.NOT_FOUND);
      });
    });

    describe('ListOrders', () => {
      it('returns only the orders of user_id, oldest first', async () => {
        const [user, other] = await Promise.all([createUser(), createUser()]);
        const mine = [await createOrder({ userId: user.id }), await createOrder({ userId: user.id })];
        await createOrder({ userId: other.id });

        const listed = await listOrders({ userId: user.id });

        assert.deepEqual(idsOf(listed.orders), idsOf(mine));
        assert.equal(listed.nextPageToken, '');
      });

      it('returns only the orders in the requested status', async () => {
        const user = await createUser();
        const pending = await createOrder({ userId: user.id });
        const paid = await updateOrder({ id: (await createOrder({ userId: user.id })).id, status: PAID });

        const onlyPaid = await listOrders({ userId: user.id, status: PAID });
        const onlyPending = await listOrders({ userId: user.id, status: PENDING });

        assert.deepEqual(idsOf(onlyPaid.orders), [paid.id]);
        assert.deepEqual(idsOf(onlyPending.orders), [pending.id]);
      });

      it('returns an empty next_page_token exactly on the last page', async () => {
        const user = await createUser();
        const orders: Order[] = [];
        for (let index = 0; index < 4; index += 1) orders.push(await createOrder({ userId: user.id }));

        const first = await listOrders({ userId: user.id, pageSize: 2 });
        const second = await listOrders({ userId: user.id, pageSize: 2, pageToken: first.nextPageToken });

        assert.deepEqual(idsOf(first.orders), idsOf(orders.slice(0, 2)));
        assert.notEqual(first.nextPageToken, '');
        assert.deepEqual(idsOf(second.orders), idsOf(orders.slice(2)));
        assert.equal(second.nextPageToken, '');
      });

      it('rejects a negative page_size with INVALID_ARGUMENT on page_size', async () => {
        assert.deepEqual(await expectInvalid(listOrders({ pageSize: -5 })), ['page_size']);
      });

      it('rejects malformed user ids with INVALID_ARGUMENT on user_id', async () => {
        for (const userId of MALFORMED_IDS.filter((id) => id !== '')) {
          assert.deepEqual(await expectInvalid(listOrders({ userId })), ['user_id'], `user id ${userId}`);
        }
      });

      it('rejects an unknown status number with INVALID_ARGUMENT on status', async () => {
        assert.deepEqual(await expectInvalid(listOrders({ status: UNKNOWN_STATUS })), ['status']);
      });

      it('rejects a page token with any one character changed with INVALID_ARGUMENT on page_token', async () => {
        const user = await createUser();
        await createOrder({ userId: user.id });
        await createOrder({ userId: user.id });
        const { nextPageToken } = await listOrders({ userId: user.id, pageSize: 1 });
        assert.notEqual(nextPageToken, '');

        for (let index = 0; index < nextPageToken.length; index += 1) {
          const flipped = nextPageToken[index] === 'A' ? 'B' : 'A';
          const tampered = `${nextPageToken.slice(0, index)}${flipped}${nextPageToken.slice(index + 1)}`;
          const fieldsInError = await expectInvalid(listOrders({ userId: user.id, pageSize: 1, pageToken: tampered }));
          assert.deepEqual(fieldsInError, ['page_token'], `character ${index} changed`);
        }
      });

      it('rejects a page token issued for another user_id or status with INVALID_ARGUMENT on page_token', async () => {
        const [user, other] = await Promise.all([createUser(), createUser()]);
        await createOrder({ userId: user.id });
        await createOrder({ userId: user.id });
        const { nextPageToken } = await listOrders({ userId: user.id, pageSize: 1 });
        assert.notEqual(nextPageToken, '');

        const otherUser = await expectInvalid(listOrders({ userId: other.id, pageSize: 1, pageToken: nextPageToken }));
        const otherStatus = await expectInvalid(
          listOrders({ userId: user.id, status: PENDING, pageSize: 1, pageToken: nextPageToken }),
        );
        const noUser = await expectInvalid(listOrders({ pageSize: 1, pageToken: nextPageToken }));

        assert.deepEqual([otherUser, otherStatus, noUser], [['page_token'], ['page_token'], ['page_token']]);
      });

      describe('over 105 orders of one user', () => {
        let userId: string;
        let fixture: Order[];
        before(async () => {
          userId = (await createUser()).id;
          fixture = await inBatches(105, 10, () => createOrder({ userId }));
        });

        it('returns 20 orders when page_size is 0', async () => {
          const listed = await listOrders({ userId });

          assert.equal(listed.orders.length, 20);
          assert.notEqual(listed.nextPageToken, '');
        });

        it('lowers a page_size of 500 to 100', async () => {
          const listed = await listOrders({ userId, pageSize: 500 });

          assert.equal(listed.orders.length, 100);
          assert.notEqual(listed.nextPageToken, '');
        });

        it('returns each order exactly once, oldest first, across pages', async () => {
          const seen: string[] = [];
          let pageToken = '';

          do {
            const listed = await listOrders({ userId, pageSize: 30, pageToken });
            seen.push(...idsOf(listed.orders));
            pageToken = listed.nextPageToken;
          } while (pageToken !== '');

          assert.deepEqual(seen, idsOf(fixture).sort());
        });
      });
    });

    describe('UpdateOrder', () => {
      it('moves an order from PENDING to PAID to SHIPPED, changing the etag each time', async () => {
        const pending = await orderIn();

        const paid = await updateOrder({ id: pending.id, status: PAID }, ['status']);
        const shipped = await updateOrder({ id: pending.id, status: SHIPPED }, ['status']);

        assert.equal(paid.status, PAID);
        assert.equal(shipped.status, SHIPPED);
        assert.equal(new Set([pending.etag, paid.etag, shipped.etag]).size, 3);
        assert.deepEqual(await getOrder(pending.id), shipped);
      });

      it('cancels a PENDING order and a PAID order', async () => {
        const [pending, paid] = await Promise.all([orderIn(), orderIn([PAID])]);

        const cancelledFromPending = await updateOrder({ id: pending.id, status: CANCELLED });
        const cancelledFromPaid = await updateOrder({ id: paid.id, status: CANCELLED });

        assert.equal(cancelledFromPending.status, CANCELLED);
        assert.equal(cancelledFromPaid.status, CANCELLED);
      });

      const forbiddenMoves: ReadonlyArray<readonly [OrderStatus[], OrderStatus]> = [
        [[PAID], PENDING],
        [[PAID, SHIPPED], PENDING],
        [[PAID, SHIPPED], CANCELLED],
        [[CANCELLED], PENDING],
        [[CANCELLED], PAID],
        [[CANCELLED], SHIPPED],
        [[], SHIPPED],
      ];
      for (const [path, target] of forbiddenMoves) {
        const from = OrderStatus[path[path.length - 1] ?? PENDING];
        it(`refuses to move an order from ${from} to ${OrderStatus[target]} with FAILED_PRECONDITION`, async () => {
          const order = await orderIn(path);

          await expectCode(updateOrder({ id: order.id, status: target }), Code.FAILED_PRECONDITION);

          assert.deepEqual(await getOrder(order.id), order);
        });
      }

      it('applies the change when the etag is current', async () => {
        const order = await orderIn();

        const paid = await updateOrder({ id: order.id, etag: order.etag, status: PAID });

        assert.equal(paid.status, PAID);
      });

      it('refuses a stale etag with ABORTED and leaves the order unchanged', async () => {
        const order = await orderIn();
        const paid = await updateOrder({ id: order.id, status: PAID });

        await expectCode(updateOrder({ id: order.id, etag: order.etag, status: CANCELLED }), Code.ABORTED);

        assert.deepEqual(await getOrder(order.id), paid);
      });

      const invalidUpdates: ReadonlyArray<readonly [string, Partial<Order>, string[] | undefined, string]> = [
        ['the immutable path user_id', { userId: uuidv7(), status: PAID }, ['user_id', 'status'], 'update_mask'],
        ['the immutable path amount_minor', { amountMinor: '5', status: PAID }, ['amount_minor'], 'update_mask'],
        ['the immutable path currency', { currency: 'USD', status: PAID }, ['currency'], 'update_mask'],
        ['an unknown path', { status: PAID }, ['priority'], 'update_mask'],
        ['an unknown status number', { status: UNKNOWN_STATUS }, ['status'], 'order.status'],
        ['an unset status named by the mask', {}, ['status'], 'order.status'],
        ['no status and no mask', {}, undefined, 'order.status'],
      ];
      for (const [what, fields, mask, path] of invalidUpdates) {
        it(`rejects ${what} with INVALID_ARGUMENT on ${path} and leaves the order unchanged`, async () => {
          const order = await orderIn();

          const fieldsInError = await expectInvalid(updateOrder({ ...fields, id: order.id }, mask));

          assert.deepEqual(fieldsInError, [path]);
          assert.deepEqual(await getOrder(order.id), order);
        });
      }

      it('rejects a request without an order with INVALID_ARGUMENT on order', async () => {
        assert.deepEqual(await expectInvalid(service.orders.updateOrder({ order: undefined })), ['order']);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on order.id', async () => {
        for (const id of MALFORMED_IDS) {
          const fieldsInError = await expectInvalid(updateOrder({ id, status: PAID }));
          assert.deepEqual(fieldsInError, ['order.id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(updateOrder({ id: uuidv7(), status: PAID }), Code.NOT_FOUND);
      });
    });

    describe('DeleteOrder', () => {
      it('deletes the order and lowers the user order_count back to 0', async () => {
        const order = await orderIn([], (await createUser()).id);

        await service.orders.deleteOrder({ id: order.id, etag: '' });

        await expectCode(getOrder(order.id), Code.NOT_FOUND);
        assert.equal(await orderCountOf(order.userId), '0');
      });

      it('deletes when the etag is current', async () => {
        const order = await orderIn();

        await service.orders.deleteOrder({ id: order.id, etag: order.etag });

        await expectCode(getOrder(order.id), Code.NOT_FOUND);
      });

      it('refuses a stale etag with ABORTED and keeps the order and the order_count', async () => {
        const order = await orderIn([], (await createUser()).id);
        const paid = await updateOrder({ id: order.id, status: PAID });

        await expectCode(service.orders.deleteOrder({ id: order.id, etag: order.etag }), Code.ABORTED);

        assert.deepEqual(await getOrder(order.id), paid);
        assert.equal(await orderCountOf(order.userId), '1');
      });

      it('rejects malformed ids with INVALID_ARGUMENT on id', async () => {
        for (const id of MALFORMED_IDS) {
          const fieldsInError = await expectInvalid(service.orders.deleteOrder({ id, etag: '' }));
          assert.deepEqual(fieldsInError, ['id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(service.orders.deleteOrder({ id: uuidv7(), etag: '' }), Code.NOT_FOUND);
      });
    });
  });
}
