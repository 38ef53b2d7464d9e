import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import type { Sequelize } from 'sequelize';
import { v7 as uuidv7 } from 'uuid';
import { ListUsersRequest, User, UserStatus, type ListUsersResponse } from '../../proto/gen/tandem/v1/user';
import { openDatabase } from '../../services/data/src/store/database';
import { expectCode, expectInvalid } from '../support/grpc-client';
import { waitUntil } from '../support/processes';
import { DIALECTS } from '../support/test-database';
import { newUserInput, startTestDataService, uniqueUsername, type TestDataService } from '../support/test-data-service';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ETAG = /^W\/"\d+"$/;
/** 99, which no UserStatus names, as a client built from a newer contract would send it (field 5, varint). */
const UNKNOWN_STATUS = User.decode(Uint8Array.of(5 << 3, 99)).status;
const MALFORMED_IDS = ['abc', uuidv7().toUpperCase(), ''];
const LONG_EMAIL = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;

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
function userInput(username?: string): Pick<User, 'username' | 'email' | 'password' | 'status'> {
  const input = newUserInput(username);
  return {
    username: input.username,
    email: input.email,
    password: input.password,
    status: UserStatus.USER_STATUS_UNSPECIFIED,
  };
}

function idsOf(users: readonly User[]): string[] {
  return users.map((user) => user.id);
}

for (const dialect of DIALECTS) {
  describe(`UserService on ${dialect}`, () => {
    let service: TestDataService;
    before(async () => {
      service = await startTestDataService(dialect);
    });
    after(async () => {
      await service.destroy();
    });

    function createUser(fields: Partial<User> = {}, requestId = ''): Promise<User> {
      return service.users.createUser({ user: User.fromPartial({ ...userInput(), ...fields }), requestId });
    }

    function getUser(id: string): Promise<User> {
      return service.users.getUser({ id });
    }

    function updateUser(user: Partial<User>, updateMask?: string[]): Promise<User> {
      return service.users.updateUser({ user: User.fromPartial(user), updateMask });
    }

    function listUsers(request: Partial<ListUsersRequest>): Promise<ListUsersResponse> {
      return service.users.listUsers(ListUsersRequest.fromPartial(request));
    }

    /** Creates `count` users whose usernames start with `prefix`, concurrently; answers them oldest first. */
    async function createUsersWithPrefix(prefix: string, count: number): Promise<User[]> {
      const users = await Promise.all(
        Array.from({ length: count }, (_, index) => createUser(userInput(`${prefix}_${index}`))),
      );
      return users.sort((left, right) => (left.id < right.id ? -1 : 1));
    }

    describe('CreateUser', () => {
      it('creates an active user with a UUIDv7 id and an etag, and never returns the password', async () => {
        const input = userInput();

        const created = await createUser(input);

        assert.match(created.id, UUID_V7);
        assert.match(created.etag, ETAG);
        assert.equal(created.username, input.username);
        assert.equal(created.email, input.email);
        assert.equal(created.password, '');
        assert.equal(created.status, UserStatus.USER_STATUS_ACTIVE);
        assert.equal(created.orderCount, '0');
        assert.ok(created.createTime instanceof Date);
        assert.equal(created.deleteTime, undefined);
        assert.deepEqual(await getUser(created.id), created);
      });

      it('stores the email in lowercase', async () => {
        const username = uniqueUsername();

        const created = await createUser({ username, email: `${username.toUpperCase()}@Example.COM` });

        assert.equal(created.email, `${username}@example.com`);
      });

      it('creates a disabled user when status is DISABLED', async () => {
        const created = await createUser({ status: UserStatus.USER_STATUS_DISABLED });

        assert.equal(created.status, UserStatus.USER_STATUS_DISABLED);
      });

      it('rejects a request without a user with INVALID_ARGUMENT on user', async () => {
        assert.deepEqual(await expectInvalid(service.users.createUser({ user: undefined, requestId: '' })), ['user']);
      });

      const invalidCases: ReadonlyArray<readonly [string, Partial<User>, string]> = [
        ['an empty username', { username: '' }, 'user.username'],
        ['a 33-character username', { username: uniqueUsername().padEnd(33, 'x') }, 'user.username'],
        ['a username with uppercase letters and a dash', { username: 'Bad-Name' }, 'user.username'],
        ['a username starting with a digit', { username: '1abc' }, 'user.username'],
        ['an empty email', { email: '' }, 'user.email'],
        ['a malformed email', { email: 'not-an-email' }, 'user.email'],
        ['an email longer than 254 characters', { email: LONG_EMAIL }, 'user.email'],
        ['an empty password', { password: '' }, 'user.password'],
        ['a 7-character password', { password: 'seven77' }, 'user.password'],
        ['a 257-character password', { password: 'p'.repeat(257) }, 'user.password'],
        ['an unknown status number', { status: UNKNOWN_STATUS }, 'user.status'],
      ];
      for (const [what, fields, path] of invalidCases) {
        it(`rejects ${what} with INVALID_ARGUMENT on ${path} and creates nothing`, async () => {
          const username = uniqueUsername();

          const fieldsInError = await expectInvalid(createUser({ ...userInput(username), ...fields }));

          assert.deepEqual(fieldsInError, [path]);
          const listed = await listUsers({ usernamePrefix: username, showDeleted: true });
          assert.deepEqual(listed.users, []);
        });
      }

      it('lists every invalid field in one INVALID_ARGUMENT', async () => {
        const fieldsInError = await expectInvalid(
          createUser({ username: 'X', email: 'nope', password: 'short' }, 'not-a-uuid'),
        );

        assert.deepEqual(fieldsInError, ['user.username', 'user.email', 'user.password', 'request_id']);
      });

      it('rejects a request_id that is not a UUID with INVALID_ARGUMENT on request_id', async () => {
        assert.deepEqual(await expectInvalid(createUser({}, 'request-1')), ['request_id']);
      });

      it('rejects a username taken by a live user with ALREADY_EXISTS', async () => {
        const taken = await createUser();

        await expectCode(createUser({ username: taken.username }), Code.ALREADY_EXISTS);
      });

      it('rejects an email taken by a live user, compared case-insensitively, with ALREADY_EXISTS', async () => {
        const taken = await createUser();

        await expectCode(createUser({ email: taken.email.toUpperCase() }), Code.ALREADY_EXISTS);
      });

      it('returns the first user and creates nothing when a request_id is repeated', async () => {
        const input = userInput();
        const requestId = randomUUID();
        const first = await createUser(input, requestId);

        const second = await createUser(input, requestId);

        assert.equal(second.id, first.id);
        const listed = await listUsers({ usernamePrefix: input.username, showDeleted: true });
        assert.deepEqual(idsOf(listed.users), [first.id]);
      });

      it('creates exactly one user when 10 calls with one request_id run concurrently', async () => {
        const input = userInput();
        const requestId = randomUUID();

        const results = await Promise.all(Array.from({ length: 10 }, () => createUser(input, requestId)));

        const listed = await listUsers({ usernamePrefix: input.username, showDeleted: true });
        assert.equal(listed.users.length, 1);
        assert.deepEqual(new Set(idsOf(results)), new Set(idsOf(listed.users)));
      });
    });

    describe('GetUser', () => {
      it('returns the user as created', async () => {
        const created = await createUser();

        const read = await getUser(created.id);

        assert.deepEqual(read, created);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on id', async () => {
        for (const id of MALFORMED_IDS) {
          assert.deepEqual(await expectInvalid(getUser(id)), ['id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(getUser(uuidv7()), Code.NOT_FOUND);
      });
    });

    describe('ListUsers', () => {
      it('returns only the users whose username starts with username_prefix, oldest first', async () => {
        const prefix = uniqueUsername('p');
        const matching = await createUsersWithPrefix(prefix, 3);
        await createUser();

        const listed = await listUsers({ usernamePrefix: prefix });

        assert.deepEqual(idsOf(listed.users), idsOf(matching));
        assert.equal(listed.nextPageToken, '');
      });

      it('returns only the users in the requested status', async () => {
        const prefix = uniqueUsername('p');
        const active = await createUser(userInput(`${prefix}_a`));
        const disabled = await createUser({
          ...userInput(`${prefix}_d`),
          status: UserStatus.USER_STATUS_DISABLED,
        });

        const onlyDisabled = await listUsers({ usernamePrefix: prefix, status: UserStatus.USER_STATUS_DISABLED });
        const onlyActive = await listUsers({ usernamePrefix: prefix, status: UserStatus.USER_STATUS_ACTIVE });

        assert.deepEqual(idsOf(onlyDisabled.users), [disabled.id]);
        assert.deepEqual(idsOf(onlyActive.users), [active.id]);
      });

      it('hides deleted users unless show_deleted is set', async () => {
        const prefix = uniqueUsername('p');
        const [live, deleted] = await createUsersWithPrefix(prefix, 2);
        await service.users.deleteUser({ id: deleted!.id, etag: '' });

        const withoutDeleted = await listUsers({ usernamePrefix: prefix });
        const withDeleted = await listUsers({ usernamePrefix: prefix, showDeleted: true });

        assert.deepEqual(idsOf(withoutDeleted.users), [live!.id]);
        assert.deepEqual(idsOf(withDeleted.users), [live!.id, deleted!.id]);
        assert.ok(withDeleted.users[1]!.deleteTime instanceof Date);
      });

      it('returns an empty next_page_token exactly on the last page', async () => {
        const prefix = uniqueUsername('p');
        const users = await createUsersWithPrefix(prefix, 4);

        const first = await listUsers({ usernamePrefix: prefix, pageSize: 2 });
        const second = await listUsers({ usernamePrefix: prefix, pageSize: 2, pageToken: first.nextPageToken });

        assert.deepEqual(idsOf(first.users), idsOf(users.slice(0, 2)));
        assert.notEqual(first.nextPageToken, '');
        assert.deepEqual(idsOf(second.users), idsOf(users.slice(2)));
        assert.equal(second.nextPageToken, '');
      });

      it('rejects a negative page_size with INVALID_ARGUMENT on page_size', async () => {
        assert.deepEqual(await expectInvalid(listUsers({ pageSize: -1 })), ['page_size']);
      });

      it('rejects an unknown status number with INVALID_ARGUMENT on status', async () => {
        assert.deepEqual(await expectInvalid(listUsers({ status: UNKNOWN_STATUS })), ['status']);
      });

      it('rejects a username_prefix with uppercase letters with INVALID_ARGUMENT on username_prefix', async () => {
        assert.deepEqual(await expectInvalid(listUsers({ usernamePrefix: 'ABC' })), ['username_prefix']);
      });

      it('rejects a page token with any one character changed with INVALID_ARGUMENT on page_token', async () => {
        const prefix = uniqueUsername('p');
        await createUsersWithPrefix(prefix, 2);
        const { nextPageToken } = await listUsers({ usernamePrefix: prefix, pageSize: 1 });
        assert.notEqual(nextPageToken, '');

        for (let index = 0; index < nextPageToken.length; index += 1) {
          const flipped = nextPageToken[index] === 'A' ? 'B' : 'A';
          const tampered = `${nextPageToken.slice(0, index)}${flipped}${nextPageToken.slice(index + 1)}`;
          const fieldsInError = await expectInvalid(
            listUsers({ usernamePrefix: prefix, pageSize: 1, pageToken: tampered }),
          );
          assert.deepEqual(fieldsInError, ['page_token'], `character ${index} changed`);
        }
      });

      const otherQueries: ReadonlyArray<readonly [string, Partial<ListUsersRequest>]> = [
        ['another status', { status: UserStatus.USER_STATUS_DISABLED }],
        ['another username_prefix', { usernamePrefix: 'zz' }],
        ['show_deleted', { showDeleted: true }],
      ];
      for (const [what, otherFilter] of otherQueries) {
        it(`rejects a page token issued for a query with ${what} with INVALID_ARGUMENT on page_token`, async () => {
          const prefix = uniqueUsername('p');
          await createUsersWithPrefix(prefix, 2);
          const query = { usernamePrefix: prefix, status: UserStatus.USER_STATUS_ACTIVE, pageSize: 1 };
          const { nextPageToken } = await listUsers(query);
          assert.notEqual(nextPageToken, '');

          const fieldsInError = await expectInvalid(listUsers({ ...query, ...otherFilter, pageToken: nextPageToken }));

          assert.deepEqual(fieldsInError, ['page_token']);
        });
      }

      describe('over 250 users under one prefix', () => {
        const prefix = uniqueUsername('p');
        let fixture: User[];
        before(async function () {
          // 250 scrypt hashes: seconds on an idle machine, more when other suites share the cores.
          this.timeout(120_000);
          fixture = await inBatches(250, 10, (index) => createUser(userInput(`${prefix}_${index}`)));
        });

        it('returns 20 users when page_size is 0', async () => {
          const listed = await listUsers({ usernamePrefix: prefix });

          assert.equal(listed.users.length, 20);
          assert.notEqual(listed.nextPageToken, '');
        });

        it('lowers a page_size of 500 to 100', async () => {
          const listed = await listUsers({ usernamePrefix: prefix, pageSize: 500 });

          assert.equal(listed.users.length, 100);
          assert.notEqual(listed.nextPageToken, '');
        });

        it('returns each user exactly once while other users are inserted concurrently', async () => {
          const seen: string[] = [];
          const inserted: string[] = [];
          let pageToken = '';
          let page = 0;

          do {
            const [listed, extra] = await Promise.all([
              listUsers({ usernamePrefix: prefix, pageSize: 30, pageToken }),
              createUser(userInput(`${prefix}_extra_${page}`)),
            ]);
            seen.push(...idsOf(listed.users));
            inserted.push(extra.id);
            pageToken = listed.nextPageToken;
            page += 1;
          } while (pageToken !== '');

          assert.equal(new Set(seen).size, seen.length, 'no user is returned twice');
          assert.deepEqual(
            seen.filter((id) => !inserted.includes(id)),
            idsOf(fixture).sort(),
            'each of the 250 users is returned once, oldest first',
          );
          assert.deepEqual(seen, [...seen].sort(), 'pages are in id order');
        });
      });
    });

    describe('UpdateUser', () => {
      it('changes only the fields named in update_mask and changes the etag', async () => {
        const user = await createUser();
        const username = uniqueUsername();

        const updated = await updateUser(
          {
            id: user.id,
            username,
            email: `${username}@elsewhere.example.com`,
            status: UserStatus.USER_STATUS_DISABLED,
          },
          ['username'],
        );

        assert.equal(updated.username, username);
        assert.equal(updated.email, user.email);
        assert.equal(updated.status, UserStatus.USER_STATUS_ACTIVE);
        assert.notEqual(updated.etag, user.etag);
        assert.deepEqual(await getUser(user.id), updated);
      });

      it('changes every field that is set when there is no update_mask', async () => {
        const user = await createUser();
        const username = uniqueUsername();

        const updated = await updateUser({ id: user.id, username, email: `${username}@Example.com` });

        assert.equal(updated.username, username);
        assert.equal(updated.email, `${username}@example.com`);
        assert.equal(updated.status, UserStatus.USER_STATUS_ACTIVE);
      });

      it('ignores output-only paths in update_mask', async () => {
        const user = await createUser();

        const updated = await updateUser(
          { id: user.id, status: UserStatus.USER_STATUS_DISABLED, orderCount: '7', etag: user.etag },
          ['id', 'order_count', 'create_time', 'update_time', 'delete_time', 'etag', 'status'],
        );

        assert.equal(updated.status, UserStatus.USER_STATUS_DISABLED);
        assert.equal(updated.orderCount, '0');
        assert.equal(updated.id, user.id);
        assert.deepEqual(updated.createTime, user.createTime);
      });

      it('changes nothing when update_mask names only output-only paths', async () => {
        const user = await createUser();

        const updated = await updateUser({ id: user.id, orderCount: '7' }, ['order_count']);

        assert.deepEqual(updated, user);
      });

      it('changes the etag on a password update and never returns the password', async () => {
        const user = await createUser();

        const updated = await updateUser({ id: user.id, password: 'a brand new secret' }, ['password']);

        assert.notEqual(updated.etag, user.etag);
        assert.equal(updated.password, '');
        assert.equal((await getUser(user.id)).password, '');
      });

      it('applies the change when the etag is current', async () => {
        const user = await createUser();

        const updated = await updateUser({ id: user.id, etag: user.etag, status: UserStatus.USER_STATUS_DISABLED });

        assert.equal(updated.status, UserStatus.USER_STATUS_DISABLED);
      });

      it('refuses a stale etag with ABORTED and leaves the user unchanged', async () => {
        const user = await createUser();
        const current = await updateUser({ id: user.id, status: UserStatus.USER_STATUS_DISABLED });

        await expectCode(
          updateUser({ id: user.id, etag: user.etag, status: UserStatus.USER_STATUS_ACTIVE }),
          Code.ABORTED,
        );

        assert.deepEqual(await getUser(user.id), current);
      });

      const invalidUpdates: ReadonlyArray<readonly [string, Partial<User>, string[] | undefined, string]> = [
        ['an unknown update_mask path', { status: UserStatus.USER_STATUS_DISABLED }, ['nickname'], 'update_mask'],
        ['the update_mask path *', { status: UserStatus.USER_STATUS_DISABLED }, ['*'], 'update_mask'],
        ['an empty username named by the mask', { username: '' }, ['username'], 'user.username'],
        ['a 33-character username', { username: uniqueUsername().padEnd(33, 'x') }, undefined, 'user.username'],
        ['a username with bad characters', { username: 'no-dashes' }, undefined, 'user.username'],
        ['a malformed email', { email: 'nope' }, undefined, 'user.email'],
        ['an email longer than 254 characters', { email: LONG_EMAIL }, undefined, 'user.email'],
        ['a 7-character password', { password: 'seven77' }, undefined, 'user.password'],
        ['an unknown status number', { status: UNKNOWN_STATUS }, undefined, 'user.status'],
        ['an unset status named by the mask', {}, ['status'], 'user.status'],
      ];
      for (const [what, fields, mask, path] of invalidUpdates) {
        it(`rejects ${what} with INVALID_ARGUMENT on ${path} and leaves the user unchanged`, async () => {
          const user = await createUser();

          const fieldsInError = await expectInvalid(updateUser({ ...fields, id: user.id }, mask));

          assert.deepEqual(fieldsInError, [path]);
          assert.deepEqual(await getUser(user.id), user);
        });
      }

      it('rejects a request without a user with INVALID_ARGUMENT on user', async () => {
        assert.deepEqual(await expectInvalid(service.users.updateUser({ user: undefined })), ['user']);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on user.id', async () => {
        for (const id of MALFORMED_IDS) {
          const fieldsInError = await expectInvalid(updateUser({ id, status: UserStatus.USER_STATUS_DISABLED }));
          assert.deepEqual(fieldsInError, ['user.id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(updateUser({ id: uuidv7(), status: UserStatus.USER_STATUS_DISABLED }), Code.NOT_FOUND);
      });

      it('rejects a username taken by another live user with ALREADY_EXISTS and leaves the user unchanged', async () => {
        const [other, user] = await Promise.all([createUser(), createUser()]);

        await expectCode(updateUser({ id: user.id, username: other.username }), Code.ALREADY_EXISTS);

        assert.deepEqual(await getUser(user.id), user);
      });

      it('rejects an email taken by another live user in another case with ALREADY_EXISTS', async () => {
        const [other, user] = await Promise.all([createUser(), createUser()]);

        await expectCode(updateUser({ id: user.id, email: other.email.toUpperCase() }), Code.ALREADY_EXISTS);

        assert.deepEqual(await getUser(user.id), user);
      });

      it('refuses to update a deleted user with FAILED_PRECONDITION', async () => {
        const user = await createUser();
        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });

        await expectCode(
          updateUser({ id: user.id, status: UserStatus.USER_STATUS_DISABLED }),
          Code.FAILED_PRECONDITION,
        );

        assert.deepEqual(await getUser(user.id), deleted);
      });
    });

    describe('DeleteUser', () => {
      it('soft-deletes the user: Get still returns it with delete_time set and a new etag', async () => {
        const user = await createUser();

        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });

        assert.ok(deleted.deleteTime instanceof Date);
        assert.notEqual(deleted.etag, user.etag);
        assert.deepEqual(await getUser(user.id), deleted);
      });

      it('frees the username and email for a new user', async () => {
        const user = await createUser();
        await service.users.deleteUser({ id: user.id, etag: '' });

        const successor = await createUser({ username: user.username, email: user.email });

        assert.notEqual(successor.id, user.id);
        assert.equal(successor.username, user.username);
      });

      it('deletes when the etag is current', async () => {
        const user = await createUser();

        const deleted = await service.users.deleteUser({ id: user.id, etag: user.etag });

        assert.ok(deleted.deleteTime instanceof Date);
      });

      it('refuses a stale etag with ABORTED and leaves the user live', async () => {
        const user = await createUser();
        const current = await updateUser({ id: user.id, status: UserStatus.USER_STATUS_DISABLED });

        await expectCode(service.users.deleteUser({ id: user.id, etag: user.etag }), Code.ABORTED);

        assert.deepEqual(await getUser(user.id), current);
      });

      it('refuses to delete a deleted user with FAILED_PRECONDITION', async () => {
        const user = await createUser();
        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });

        await expectCode(service.users.deleteUser({ id: user.id, etag: '' }), Code.FAILED_PRECONDITION);

        assert.deepEqual(await getUser(user.id), deleted);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on id', async () => {
        for (const id of MALFORMED_IDS) {
          const fieldsInError = await expectInvalid(service.users.deleteUser({ id, etag: '' }));
          assert.deepEqual(fieldsInError, ['id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(service.users.deleteUser({ id: uuidv7(), etag: '' }), Code.NOT_FOUND);
      });
    });

    describe('UndeleteUser', () => {
      it('restores a deleted user, who is listed again', async () => {
        const user = await createUser();
        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });

        const restored = await service.users.undeleteUser({ id: user.id });

        assert.equal(restored.deleteTime, undefined);
        assert.notEqual(restored.etag, deleted.etag);
        const listed = await listUsers({ usernamePrefix: user.username });
        assert.deepEqual(idsOf(listed.users), [user.id]);
      });

      it('refuses to undelete a live user with FAILED_PRECONDITION', async () => {
        const user = await createUser();

        await expectCode(service.users.undeleteUser({ id: user.id }), Code.FAILED_PRECONDITION);

        assert.deepEqual(await getUser(user.id), user);
      });

      it('refuses with ALREADY_EXISTS when a live user took the username, and the user stays deleted', async () => {
        const user = await createUser();
        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });
        await createUser({ username: user.username });

        await expectCode(service.users.undeleteUser({ id: user.id }), Code.ALREADY_EXISTS);

        assert.deepEqual(await getUser(user.id), deleted);
      });

      it('refuses with ALREADY_EXISTS when a live user took the email, and the user stays deleted', async () => {
        const user = await createUser();
        const deleted = await service.users.deleteUser({ id: user.id, etag: '' });
        await createUser({ email: user.email });

        await expectCode(service.users.undeleteUser({ id: user.id }), Code.ALREADY_EXISTS);

        assert.deepEqual(await getUser(user.id), deleted);
      });

      it('rejects malformed ids with INVALID_ARGUMENT on id', async () => {
        for (const id of MALFORMED_IDS) {
          assert.deepEqual(await expectInvalid(service.users.undeleteUser({ id })), ['id'], `id ${JSON.stringify(id)}`);
        }
      });

      it('answers NOT_FOUND for an id nobody has', async () => {
        await expectCode(service.users.undeleteUser({ id: uuidv7() }), Code.NOT_FOUND);
      });
    });
  });

  describe(`request id retention on ${dialect}`, () => {
    let service: TestDataService;
    let database: Sequelize;
    before(async () => {
      service = await startTestDataService(dialect, {
        'dispatch.retentionSweepIntervalMs': 200,
        'grpc.requestIdRetentionMs': 60_000,
      });
      database = await openDatabase({ url: service.database.url, poolMax: 1 });
    });
    after(async () => {
      await database.close();
      await service.destroy();
    });

    async function isRemembered(requestId: string): Promise<boolean> {
      const [rows] = await database.query('SELECT COUNT(*) AS n FROM request_records WHERE request_id = :requestId', {
        replacements: { requestId },
      });
      return Number((rows as Array<{ n: number | string }>)[0]?.n) === 1;
    }

    it('when a request id is older than the retention, then the sweeper forgets it and keeps the recent ones', async () => {
      const [oldId, recentId] = [randomUUID(), randomUUID()];
      const recentInput = userInput();
      const old = await service.users.createUser({ user: User.fromPartial(userInput()), requestId: oldId });
      const recent = await service.users.createUser({ user: User.fromPartial(recentInput), requestId: recentId });
      await database.query('UPDATE request_records SET created_at = :at WHERE request_id = :oldId', {
        replacements: { at: new Date(Date.now() - 2 * 60_000), oldId },
      });

      await waitUntil('the old request id to be forgotten', async () => !(await isRemembered(oldId)), 10_000);

      assert.ok(await isRemembered(recentId), 'the recent request id is kept');
      const retried = await service.users.createUser({ user: User.fromPartial(recentInput), requestId: recentId });
      assert.equal(retried.id, recent.id, 'a retry within the retention still returns the first user');
      const reused = await service.users.createUser({ user: User.fromPartial(userInput()), requestId: oldId });
      assert.notEqual(reused.id, old.id, 'a forgotten id makes a new user');
      assert.ok(await isRemembered(oldId), 'and is remembered again');
    });
  });
}
