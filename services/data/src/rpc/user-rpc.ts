import {
  User as UserMessage,
  ListUsersResponse,
  UserStatus as UserStatusEnum,
  type UserServiceServer,
  UserServiceService,
} from '../../../../proto/gen/tandem/v1/user';
import type { User, UserChanges, UserStatus, Users } from '../domain/users';
import { invalid } from '../domain/violations';
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

/** Reads a status; UNSPECIFIED becomes `unspecified`, an unknown number is INVALID_ARGUMENT. */
function statusOf<T>(value: UserStatusEnum, field: string, unspecified: T): UserStatus | T {
  if (value === UserStatusEnum.USER_STATUS_UNSPECIFIED) return unspecified;
  return STATUS_TO_DOMAIN.get(value) ?? invalid(field, 'must be USER_STATUS_ACTIVE or USER_STATUS_DISABLED');
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

function changesOf(user: UserMessage, paths: readonly string[]): UserChanges {
  const mask = resolveMask(paths, USER_MASK, (path) =>
    path === 'status'
      ? user.status !== UserStatusEnum.USER_STATUS_UNSPECIFIED
      : user[path as 'username' | 'email' | 'password'] !== '',
  );
  return {
    ...(mask.has('username') ? { username: user.username } : {}),
    ...(mask.has('email') ? { email: user.email } : {}),
    ...(mask.has('password') ? { password: user.password } : {}),
    ...(mask.has('status')
      ? {
          status:
            statusOf(user.status, 'user.status', undefined) ??
            invalid('user.status', 'must be set when the mask names it'),
        }
      : {}),
  };
}

/** UserService over the users domain. */
export function createUserRpc(adapt: ServiceAdapter, users: Users): [typeof UserServiceService, UserServiceServer] {
  return [
    UserServiceService,
    adapt<UserServiceServer>(UserServiceService, {
      createUser: async ({ user, requestId }) => {
        if (!user) return invalid('user', 'is required');
        const { username, email, password } = user;
        const status = statusOf(user.status, 'user.status', 'active' as const);
        return toMessage(await users.create({ username, email, password, status }, requestId));
      },
      getUser: async ({ id }) => toMessage(await users.get(id)),
      listUsers: async (request) => {
        const page = await users.list({
          pageSize: request.pageSize,
          pageToken: request.pageToken,
          status: statusOf(request.status, 'status', undefined),
          usernamePrefix: request.usernamePrefix,
          showDeleted: request.showDeleted,
        });
        return ListUsersResponse.fromPartial({ users: page.items.map(toMessage), nextPageToken: page.nextPageToken });
      },
      updateUser: async ({ user, updateMask }) => {
        if (!user) return invalid('user', 'is required');
        return toMessage(await users.update(user.id, user.etag, changesOf(user, updateMask ?? [])));
      },
      deleteUser: async ({ id, etag }) => toMessage(await users.remove(id, etag)),
      undeleteUser: async ({ id }) => toMessage(await users.undelete(id)),
    }),
  ];
}
