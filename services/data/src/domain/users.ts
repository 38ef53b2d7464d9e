import isEmail from 'validator/lib/isEmail';
import { UniqueViolationError, type Store, type Tx, type UserRecord } from '../store';
import { AbortedError, AlreadyExistsError, FailedPreconditionError, NotFoundError } from './errors';
import { etagMatches, etagOf } from './etag';
import { checkId } from './ids';
import { createOnce } from './idempotent-create';
import { readPagePosition, toPage, type Page } from './pagination';
import { hashPassword } from './password';
import { Violations } from './violations';

export type UserStatus = 'active' | 'disabled';

export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly status: UserStatus;
  readonly orderCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly deletedAt: Date | null;
  readonly etag: string;
}

export interface NewUser {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly status: UserStatus;
}

/** The fields to change: an absent field stays as it is. */
export interface UserChanges {
  readonly username?: string;
  readonly email?: string;
  readonly password?: string;
  readonly status?: UserStatus;
}

export interface UserQuery {
  readonly pageSize: number;
  readonly pageToken: string;
  readonly status: UserStatus | undefined;
  readonly usernamePrefix: string;
  readonly showDeleted: boolean;
}

const USERNAME = /^[a-z][a-z0-9_]{2,31}$/;
const USERNAME_PREFIX = /^[a-z0-9_]{0,32}$/;
const MAX_EMAIL_LENGTH = 254;
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 256;

function toUser(record: UserRecord): User {
  return {
    id: record.id,
    username: record.username,
    email: record.email,
    status: record.status as UserStatus,
    orderCount: record.orderCount,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    deletedAt: record.deletedAt,
    etag: etagOf(record.version),
  };
}

function checkUserFields(violations: Violations, fields: UserChanges, prefix: string): void {
  if (fields.username !== undefined) {
    violations.check(USERNAME.test(fields.username), `${prefix}username`, 'must match ^[a-z][a-z0-9_]{2,31}$');
  }
  if (fields.email !== undefined) {
    violations.check(
      fields.email.length <= MAX_EMAIL_LENGTH && isEmail(fields.email),
      `${prefix}email`,
      `must be a valid email address of at most ${MAX_EMAIL_LENGTH} characters`,
    );
  }
  if (fields.password !== undefined) {
    violations.check(
      fields.password.length >= MIN_PASSWORD_LENGTH && fields.password.length <= MAX_PASSWORD_LENGTH,
      `${prefix}password`,
      `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`,
    );
  }
}

function alreadyExists(error: unknown): unknown {
  if (error instanceof UniqueViolationError) {
    return new AlreadyExistsError('user', error.columns.includes('email') ? 'email' : 'username');
  }
  return error;
}

/** Enqueues the welcome e-mail of a new user inside the user's own transaction. */
export type WelcomeMailer = (tx: Tx, user: User) => Promise<void>;

/**
 * The rules of users: validation, uniqueness among live users, soft delete, etags. With a
 * `welcomeMailer`, a new user and its welcome e-mail job commit together or not at all.
 */
export function createUsers(store: Store, welcomeMailer?: WelcomeMailer) {
  async function findOrThrow(id: string, tx?: Tx): Promise<UserRecord> {
    const record = await store.users.find(id, tx, tx !== undefined);
    if (!record) throw new NotFoundError('user', id);
    return record;
  }

  async function get(id: string): Promise<User> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    return toUser(await findOrThrow(id));
  }

  /** `violations` may already hold what the caller found wrong with the request's shape. */
  async function create(user: NewUser, requestId: string, violations = new Violations()): Promise<User> {
    checkUserFields(violations, user, 'user.');
    checkId(violations, requestId, 'request_id', true);
    violations.throwIfAny();
    const passwordHash = await hashPassword(user.password);
    try {
      return await createOnce(store, {
        method: 'CreateUser',
        requestId,
        create: async (tx, id) => {
          const created = toUser(
            await store.users.insert(tx, {
              id,
              username: user.username,
              email: user.email.toLowerCase(),
              passwordHash,
              status: user.status,
            }),
          );
          await welcomeMailer?.(tx, created);
          return created;
        },
        load: get,
      });
    } catch (error) {
      throw alreadyExists(error);
    }
  }

  async function list(query: UserQuery, violations = new Violations()): Promise<Page<User>> {
    violations.check(
      USERNAME_PREFIX.test(query.usernamePrefix),
      'username_prefix',
      'must be at most 32 lowercase letters, digits or underscores',
    );
    const filters = { status: query.status, usernamePrefix: query.usernamePrefix, showDeleted: query.showDeleted };
    const { afterId, limit } = readPagePosition(violations, query.pageSize, query.pageToken, filters);
    violations.throwIfAny();
    const records = await store.users.list({ ...filters, afterId, limit: limit + 1 });
    const page = toPage(records, limit, filters, (record) => record.id);
    return { items: page.items.map(toUser), nextPageToken: page.nextPageToken };
  }

  async function update(id: string, etag: string, changes: UserChanges, violations = new Violations()): Promise<User> {
    checkId(violations, id, 'user.id');
    checkUserFields(violations, changes, 'user.');
    violations.throwIfAny();
    const { password, ...rest } = changes;
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    try {
      await store.inTransaction(async (tx) => {
        const current = await findOrThrow(id, tx);
        if (current.deletedAt) {
          throw new FailedPreconditionError('USER_DELETED', `user ${id} is deleted; undelete it first`, { id });
        }
        if (!etagMatches(etag, current.version)) throw staleEtag(id);
        const email = rest.email?.toLowerCase();
        const values = {
          ...rest,
          ...(email === undefined ? {} : { email }),
          ...(passwordHash ? { passwordHash } : {}),
        };
        if (Object.keys(values).length === 0) return;
        if (!(await store.users.update(tx, id, current.version, values))) throw staleEtag(id);
      });
    } catch (error) {
      throw alreadyExists(error);
    }
    return get(id);
  }

  async function remove(id: string, etag: string): Promise<User> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    await store.inTransaction(async (tx) => {
      const current = await findOrThrow(id, tx);
      if (current.deletedAt) throw new FailedPreconditionError('USER_DELETED', `user ${id} is already deleted`, { id });
      if (!etagMatches(etag, current.version) || !(await store.users.softDelete(tx, id, current.version))) {
        throw staleEtag(id);
      }
    });
    return get(id);
  }

  async function undelete(id: string): Promise<User> {
    const violations = new Violations();
    checkId(violations, id, 'id');
    violations.throwIfAny();
    try {
      await store.inTransaction(async (tx) => {
        const current = await findOrThrow(id, tx);
        if (!current.deletedAt)
          throw new FailedPreconditionError('USER_NOT_DELETED', `user ${id} is not deleted`, { id });
        await store.users.restore(tx, id);
      });
    } catch (error) {
      throw alreadyExists(error);
    }
    return get(id);
  }

  return { create, get, list, update, remove, undelete };
}

function staleEtag(id: string): AbortedError {
  return new AbortedError('ETAG_MISMATCH', `user ${id} changed since it was read; read it again and retry`, { id });
}

export type Users = ReturnType<typeof createUsers>;
