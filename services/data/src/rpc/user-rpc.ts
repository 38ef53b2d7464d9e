import {
  User as UserMessage,
  ListUsersResponse,
  UserStatus as UserStatusEnum,
  type UserServiceServer,
  UserServiceService,
} from '../../../../proto/gen/tandem/v1/user';
import type { User, UserChanges, UserStatus, Users } from '../domain/users';
import { invalid, Violations } from '../domain/violations';
import { resolveMask } from './field-mask';
import type { ServiceAdapter } from './service-adapter';

const STATUS_TO_DOMAIN: ReadonlyMap<UserStatusEnum, UserStatus> = new Map([
  [UserStatusEnum.USER_STATUS_ACTIVE, 'active'],
  [UserStatusEnum.USER_STATUS_DISABLED, 'disabled'],
]);
const STATUS_TO_PROTO: Readonly<Record<UserStatus, UserStatusEnum>> = {
  active: UserStatusEnum.USER_STATUS_ACTIVE,
  disabled: UserStatusEnum.USER_STATUS_DISABLED,
};

const USER_MASK = {
  mutable: ['username', 'email', 'password', 'status'],
  ignored: ['id', 'order_count', 'create_time', 'update_time', 'delete_time', 'etag'],
};

/** Reads a status; UNSPECIFIED and unknown numbers (recorded as a violation) become `fallback`. */
function statusOf<T>(value: UserStatusEnum, field: string, fallback: T, violations: Violations): UserStatus | T {
  if (value === UserStatusEnum.USER_STATUS_UNSPECIFIED) return fallback;
  const status = STATUS_TO_DOMAIN.get(value);
  violations.check(status !== undefined, field, 'must be USER_STATUS_ACTIVE or USER_STATUS_DISABLED');
  return status ?? fallback;
}

function toMessage(user: User): UserMessage {
  return UserMessage.fromPartial({
    id: user.id,
    username: user.username,
    email: user.email,
    status: STATUS_TO_PROTO[user.status],
    orderCount: String(user.orderCount),
    createTime: user.createdAt,
    updateTime: user.updatedAt,
    deleteTime: user.deletedAt ?? undefined,
    etag: user.etag,
  });
}

function changesOf(user: UserMessage, paths: readonly string[], violations: Violations): UserChanges {
  const mask = resolveMask(
    paths,
    USER_MASK,
    (path) =>
      path === 'status'
        ? user.status !== UserStatusEnum.USER_STATUS_UNSPECIFIED
        : user[path as 'username' | 'email' | 'password'] !== '',
    violations,
  );
  const status = mask.has('status') ? statusOf(user.status, 'user.status', undefined, violations) : undefined;
  if (mask.has('status')) {
    violations.check(
      user.status !== UserStatusEnum.USER_STATUS_UNSPECIFIED,
      'user.status',
      'must be set when the mask names it',
    );
  }
  return {
    ...(mask.has('username') ? { username: user.username } : {}),
    ...(mask.has('email') ? { email: user.email } : {}),
    ...(mask.has('password') ? { password: user.password } : {}),
    ...(status === undefined ? {} : { status }),
  };
}

/** UserService over the users domain. */
export function createUserRpc(adapt: ServiceAdapter, users: Users): [typeof UserServiceService, UserServiceServer] {
  return [
    UserServiceService,
    adapt<UserServiceServer>(UserServiceService, {
      createUser: async ({ user, requestId }) => {
        if (!user) return invalid('user', 'is required');
        const violations = new Violations();
        const { username, email, password } = user;
        const status = statusOf(user.status, 'user.status', 'active' as const, violations);
        return toMessage(await users.create({ username, email, password, status }, requestId, violations));
      },
      getUser: async ({ id }) => toMessage(await users.get(id)),
      listUsers: async (request) => {
        const violations = new Violations();
        const query = {
          pageSize: request.pageSize,
          pageToken: request.pageToken,
          status: statusOf(request.status, 'status', undefined, violations),
          usernamePrefix: request.usernamePrefix,
          showDeleted: request.showDeleted,
        };
        const page = await users.list(query, violations);
        return ListUsersResponse.fromPartial({ users: page.items.map(toMessage), nextPageToken: page.nextPageToken });
      },
      updateUser: async ({ user, updateMask }) => {
        if (!user) return invalid('user', 'is required');
        const violations = new Violations();
        const changes = changesOf(user, updateMask ?? [], violations);
        return toMessage(await users.update(user.id, user.etag, changes, violations));
      },
      deleteUser: async ({ id, etag }) => toMessage(await users.remove(id, etag)),
      undeleteUser: async ({ id }) => toMessage(await users.undelete(id)),
    }),
  ];
}
