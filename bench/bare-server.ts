/**
 * The ceiling of the stack: a minimal grpc-js server with no Tandem code, answering GetUser, ListUsers
 * and CreateOrder with the statements Tandem's Sequelize sends, through the same driver (`pg` or
 * `sqlite3`), on the same schema and rows. Only the generated message codecs are shared.
 *
 *   node dist/bench/bare-server.js <postgres://... | sqlite:<file>>
 */
import './parent-guard';
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Pool } from 'pg';
import type sqlite3 from 'sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { OrderServiceService, OrderStatus, type CreateOrderRequest, type Order } from '../proto/gen/tandem/v1/order';
import {
  UserServiceService,
  UserStatus,
  type GetUserRequest,
  type ListUsersRequest,
  type ListUsersResponse,
  type User,
} from '../proto/gen/tandem/v1/user';
import { errorText } from './protocol';
import { openSqlite, sqliteAll, sqliteRun, toDate, toSqliteDate, type Row } from './sqlite';

const USER_COLUMNS =
  'id, username, email, password_hash, status, order_count, version, created_at, updated_at, deleted_at';
const SELECT_USER = `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`;
const LIST_USERS = `SELECT ${USER_COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY id ASC LIMIT $1`;
const INSERT_ORDER =
  'INSERT INTO orders (id, user_id, amount_minor, currency, status, version, created_at, updated_at) ' +
  'VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, user_id, amount_minor, currency, status, version, created_at, updated_at';
const COUNT_ORDER = 'UPDATE users SET order_count = order_count + 1, updated_at = $2 WHERE id = $1';
const PAGE_SIZE = 20;

class CallError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

interface NewOrder {
  readonly id: string;
  readonly userId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly now: Date;
}

interface Database {
  getUser(id: string): Promise<Row | undefined>;
  listUsers(limit: number): Promise<Row[]>;
  /** Locks the user, checks it may order, inserts the order and counts it, in one transaction. */
  createOrder(order: NewOrder): Promise<Row>;
}

function checkUser(user: Row | undefined, id: string): void {
  if (!user) throw new CallError(status.NOT_FOUND, `user ${id} not found`);
  if (user['deleted_at'] !== null) throw new CallError(status.FAILED_PRECONDITION, `user ${id} is deleted`);
  if (user['status'] !== 'active') throw new CallError(status.FAILED_PRECONDITION, `user ${id} is disabled`);
}

function orderValues(order: NewOrder, now: unknown): unknown[] {
  return [order.id, order.userId, order.amountMinor, order.currency, 'pending', 1, now, now];
}

function postgresDatabase(url: string): Database {
  const pool = new Pool({ connectionString: url, max: 10 });
  return {
    getUser: async (id) => (await pool.query<Row>(SELECT_USER, [id])).rows[0],
    listUsers: async (limit) => (await pool.query<Row>(LIST_USERS, [limit])).rows,
    createOrder: async (order) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const user = (await client.query<Row>(`${SELECT_USER} FOR UPDATE`, [order.userId])).rows[0];
        checkUser(user, order.userId);
        const inserted = (await client.query<Row>(INSERT_ORDER, orderValues(order, order.now))).rows[0];
        await client.query(COUNT_ORDER, [order.userId, order.now]);
        await client.query('COMMIT');
        if (!inserted) throw new Error('the insert returned no row');
        return inserted;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/** SQLite: reads on one connection, transactions on another, one at a time (one writer per file). */
async function sqliteDatabase(file: string): Promise<Database> {
  const reader = await openSqlite(file);
  const writer: sqlite3.Database = await openSqlite(file);
  let previous: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = previous.then(work);
    previous = turn.catch(() => undefined);
    return turn;
  };
  const sql = (text: string): string => text.replace(/\$\d+/g, '?');
  return {
    getUser: async (id) => (await sqliteAll(reader, sql(SELECT_USER), [id]))[0],
    listUsers: (limit) => sqliteAll(reader, sql(LIST_USERS), [limit]),
    createOrder: (order) =>
      serialized(async () => {
        await sqliteRun(writer, 'BEGIN IMMEDIATE');
        try {
          const [user] = await sqliteAll(writer, sql(SELECT_USER), [order.userId]);
          checkUser(user, order.userId);
          const now = toSqliteDate(order.now);
          const [inserted] = await sqliteAll(writer, sql(INSERT_ORDER), orderValues(order, now));
          await sqliteRun(writer, sql(COUNT_ORDER), [order.userId, now]);
          await sqliteRun(writer, 'COMMIT');
          if (!inserted) throw new Error('the insert returned no row');
          return inserted;
        } catch (error) {
          await sqliteRun(writer, 'ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
  };
}

function toUser(row: Row): User {
  return {
    id: String(row['id']),
    username: String(row['username']),
    email: String(row['email']),
    password: '',
    status: row['status'] === 'active' ? UserStatus.USER_STATUS_ACTIVE : UserStatus.USER_STATUS_DISABLED,
    orderCount: String(row['order_count']),
    createTime: toDate(row['created_at']),
    updateTime: toDate(row['updated_at']),
    deleteTime: toDate(row['deleted_at']),
    etag: `W/"${String(row['version'])}"`,
  };
}

function toOrder(row: Row): Order {
  return {
    id: String(row['id']),
    userId: String(row['user_id']),
    amountMinor: String(row['amount_minor']),
    currency: String(row['currency']),
    status: OrderStatus.ORDER_STATUS_PENDING,
    createTime: toDate(row['created_at']),
    updateTime: toDate(row['updated_at']),
    etag: `W/"${String(row['version'])}"`,
  };
}

/** A unary handler from an async function; failures become their status code (INTERNAL when unknown). */
function unary<Req, Res>(handle: (request: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    handle(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const failure: Partial<ServiceError> = {
          code: error instanceof CallError ? error.code : status.INTERNAL,
          details: errorText(error),
        };
        callback(failure);
      },
    );
  };
}

async function main(): Promise<void> {
  const url = process.argv[2] ?? '';
  const db = url.startsWith('sqlite:') ? await sqliteDatabase(url.slice('sqlite:'.length)) : postgresDatabase(url);
  const server = new Server();
  const users: UntypedServiceImplementation = {
    getUser: unary<GetUserRequest, User>(async ({ id }) => {
      const row = await db.getUser(id);
      if (!row) throw new CallError(status.NOT_FOUND, `user ${id} not found`);
      return toUser(row);
    }),
    listUsers: unary<ListUsersRequest, ListUsersResponse>(async () => {
      const rows = await db.listUsers(PAGE_SIZE + 1);
      const page = rows.slice(0, PAGE_SIZE).map(toUser);
      const last = page[page.length - 1];
      return { users: page, nextPageToken: rows.length > PAGE_SIZE && last ? last.id : '' };
    }),
  };
  const orders: UntypedServiceImplementation = {
    createOrder: unary<CreateOrderRequest, Order>(async ({ order }) => {
      if (!order) throw new CallError(status.INVALID_ARGUMENT, 'order is required');
      const row = await db.createOrder({
        id: uuidv7(),
        userId: order.userId,
        amountMinor: Number(order.amountMinor),
        currency: order.currency,
        now: new Date(),
      });
      return toOrder(row);
    }),
  };
  server.addService(UserServiceService, users);
  server.addService(OrderServiceService, orders);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  process.send?.({ type: 'ready', port });
}

main().catch((error: unknown) => {
  process.stderr.write(`bare server: ${errorText(error)}\n`);
  process.exit(1);
});
