import assert from 'node:assert/strict';
import { status as Code } from '@grpc/grpc-js';
import { DIALECTS } from '../support/test-database';
import { newUserInput, startTestDataService, type TestDataService } from '../support/test-data-service';
import { expectCode } from '../support/grpc-client';

for (const dialect of DIALECTS) {
  describe(`smoke on ${dialect}`, () => {
    let service: TestDataService;
    before(async () => {
      service = await startTestDataService(dialect);
    });
    after(async () => {
      await service.destroy();
    });

    it('creates a user and reads it back', async () => {
      const created = await service.users.createUser({
        user: { ...newUserInput(), id: '', orderCount: '0', etag: '' },
        requestId: '',
      });
      const read = await service.users.getUser({ id: created.id });
      assert.equal(read.username, created.username);
      await expectCode(service.users.getUser({ id: 'nope' }), Code.INVALID_ARGUMENT);
    });
  });
}
