import assert from 'node:assert/strict';
import { OrderStatus } from '../../proto/gen/tandem/v1/order';
import { User, UserStatus } from '../../proto/gen/tandem/v1/user';
import { expectInvalid } from '../support/grpc-client';
import { startTestDataService, type TestDataService } from '../support/test-data-service';

// The contract promises one BadRequest listing every invalid field: shape errors found while decoding
// the request (an unknown enum number, a bad mask path) are reported with the domain's own.
describe('INVALID_ARGUMENT lists every invalid field at once', () => {
  let service: TestDataService;
  before(async () => {
    service = await startTestDataService('sqlite');
  });
  after(async () => {
    await service.destroy();
  });

  it('reports an unknown status with a bad username, email and password on CreateUser', async () => {
    const user = User.fromPartial({ username: 'X', email: 'nope', password: 'short', status: UserStatus.UNRECOGNIZED });
    const fields = await expectInvalid(service.users.createUser({ user, requestId: 'not-a-uuid' }));
    assert.deepEqual(fields.sort(), ['request_id', 'user.email', 'user.password', 'user.status', 'user.username']);
  });

  it('reports an unknown mask path with an invalid email on UpdateUser', async () => {
    const user = User.fromPartial({ id: 'abc', email: 'nope' });
    const fields = await expectInvalid(service.users.updateUser({ user, updateMask: ['email', 'nickname'] }));
    assert.deepEqual(fields.sort(), ['update_mask', 'user.email', 'user.id']);
  });

  it('reports a non-pending status with a bad amount and currency on CreateOrder', async () => {
    const order = { userId: 'abc', amountMinor: '0', currency: 'XXX', status: OrderStatus.ORDER_STATUS_PAID };
    const fields = await expectInvalid(
      service.orders.createOrder({
        order: { ...order, id: '', etag: '' },
        requestId: '',
      }),
    );
    assert.deepEqual(fields.sort(), ['order.amount_minor', 'order.currency', 'order.status', 'order.user_id']);
  });

  it('reports an unknown status filter with a negative page size on ListUsers', async () => {
    const fields = await expectInvalid(
      service.users.listUsers({
        pageSize: -1,
        pageToken: '',
        status: UserStatus.UNRECOGNIZED,
        usernamePrefix: '',
        showDeleted: false,
      }),
    );
    assert.deepEqual(fields.sort(), ['page_size', 'status']);
  });
});
