import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { openStore, UniqueViolationError, type NewJobEvent, type Store, type Tx } from '../../services/data/src/store';
import { openDatabase } from '../../services/data/src/store/database';
import { asTransaction, createTransactionRunner } from '../../services/data/src/store/transaction';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/test-database';

const TYPE = 'store.test';

function newJob() {
  return {
    id: randomUUID(),
    type: TYPE,
    queue: 'default',
    payload: '{}',
    maxAttempts: 3,
    runAt: new Date(),
    idempotencyKey: null,
  };
}

/** Counts the queries pg sends (each one a round trip) while `work` runs. */
async function roundTrips(work: () => Promise<unknown>): Promise<number> {
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  let trips = 0;
  prototype.query = function (this: Client, ...args: unknown[]) {
    trips += 1;
    return query.apply(this, args);
  };
  try {
    await work();
  } finally {
    prototype.query = query;
  }
  return trips;
}

function eventOf(jobId: string, toState: string, fromState: string | null = 'pending'): NewJobEvent {
  return { jobId, attempt: 0, fromState, toState, progress: null, message: toState, workerId: null };
}

for (const dialect of DIALECTS) {
  describe(`store transactions on ${dialect}`, () => {
    let database: TestDatabase;
    let store: Store;

    before(async () => {
      database = await createTestDatabase(dialect);
      store = await openStore({ url: database.url, poolMax: 4, migrate: true });
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    async function insertedJob(): Promise<string> {
      const job = newJob();
      await store.inTransaction((tx) => store.jobs.insert(tx, [job], [eventOf(job.id, 'pending', null)]));
      return job.id;
    }

    async function stateOf(id: string): Promise<string | undefined> {
      return (await store.jobs.find(id))?.state;
    }

    async function eventsOf(id: string): Promise<string[]> {
      return (await store.jobs.listEvents(id, undefined, 100)).map((event) => event.toState);
    }

    it('when moves are applied last in a transaction, then they and their events are committed with it', async () => {
      const [first, second] = [await insertedJob(), await insertedJob()];
      const at = new Date();
      await store.inTransaction((tx) =>
        store.jobs.applyMoves(
          tx,
          [{ ids: [first, second], to: 'queued', changes: { queuedAt: at } }],
          [eventOf(first, 'queued'), eventOf(second, 'queued')],
          at,
        ),
      );
      assert.equal(await stateOf(first), 'queued');
      assert.equal(await stateOf(second), 'queued');
      assert.deepEqual(await eventsOf(first), ['pending', 'queued']);
    });

    it('when the work throws after applying moves, then neither the moves nor their events are recorded', async () => {
      const id = await insertedJob();
      const at = new Date();
      await assert.rejects(
        store.inTransaction(async (tx) => {
          await store.jobs.applyMoves(tx, [{ ids: [id], to: 'queued', changes: {} }], [eventOf(id, 'queued')], at);
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.equal(await stateOf(id), 'pending');
      assert.deepEqual(await eventsOf(id), ['pending']);
    });

    it('when a model query follows applied moves in the transaction, then it reads them', async () => {
      const id = await insertedJob();
      const finishedAt = new Date(Date.now() - 60_000);
      const deleted = await store.inTransaction(async (tx) => {
        await store.jobs.applyMoves(
          tx,
          [{ ids: [id], to: 'succeeded', changes: { finishedAt } }],
          [eventOf(id, 'succeeded')],
          finishedAt,
        );
        // deleteFinished finds its rows through the Job model, not the store's own SQL.
        return store.jobs.deleteFinished(tx, TYPE, new Date(), 10);
      });
      assert.equal(deleted, 1);
      assert.equal(await stateOf(id), undefined);
      assert.deepEqual(await eventsOf(id), []);
    });

    it('when a conditional update follows applied moves, then it answers for its own row only', async () => {
      const [moved, other] = [await insertedJob(), await insertedJob()];
      const at = new Date();
      const updated = await store.inTransaction(async (tx) => {
        await store.jobs.applyMoves(
          tx,
          [{ ids: [moved, other], to: 'queued', changes: {} }],
          [eventOf(moved, 'queued'), eventOf(other, 'queued')],
          at,
        );
        return store.jobs.move(tx, moved, { from: ['queued'] }, 'running', { attempt: 1 });
      });
      assert.equal(updated, true);
      assert.equal(await stateOf(moved), 'running');
      assert.equal(await stateOf(other), 'queued');
    });

    it('when a write applied last fails, then the transaction rejects, records nothing, and the next one works', async () => {
      const id = await insertedJob();
      const broken = { ...eventOf(id, 'queued'), toState: null } as unknown as NewJobEvent;
      await assert.rejects(
        store.inTransaction((tx) =>
          store.jobs.applyMoves(tx, [{ ids: [id], to: 'queued', changes: {} }], [broken], new Date()),
        ),
      );
      assert.equal(await stateOf(id), 'pending');
      assert.deepEqual(await eventsOf(id), ['pending']);
      const next = await insertedJob();
      assert.equal(await stateOf(next), 'pending');
    });

    it('when a transaction runs no statement, then it commits without error', async () => {
      assert.equal(await store.inTransaction(() => Promise.resolve(42)), 42);
    });

    it('when inserted rows hold quotes, backslashes, braces, commas, NULL as text and non-ASCII, then they read back exactly', async () => {
      // Awkward for SQL literals and for PostgreSQL array literals alike; one insert mixes null and text per column.
      const awkward = [
        `{"quote":"it's","dq":"say \\"hi\\"","path":"C:\\\\temp\\\\x"}`,
        '{"braces":"{a,b}","commas":"a, b, c","null":"NULL","empty":""}',
        '{"unicode":"żółć 東京 🚀","tab":"a\\tb"}',
      ];
      const runAt = new Date('2031-02-03T04:05:06.789Z');
      const jobs = awkward.map((payload, index) => ({
        ...newJob(),
        payload,
        runAt,
        idempotencyKey: index === 1 ? `NULL ',"{}\\ ${randomUUID()}` : null,
      }));
      const events: NewJobEvent[] = jobs.map((job, index) => ({
        jobId: job.id,
        attempt: index,
        fromState: index === 0 ? null : 'pending',
        toState: 'pending',
        progress: index === 2 ? null : index * 10,
        message: awkward[index] ?? '',
        workerId: index === 1 ? `worker "{1}" \\ 'a'` : null,
      }));
      await store.inTransaction((tx) => store.jobs.insert(tx, jobs, events));
      for (const [index, job] of jobs.entries()) {
        const stored = await store.jobs.find(job.id);
        assert.ok(stored, `job ${index} was stored`);
        assert.equal(stored.payload, job.payload);
        assert.equal(stored.idempotencyKey, job.idempotencyKey);
        assert.equal(stored.runAt.toISOString(), runAt.toISOString());
        assert.equal(stored.state, 'pending');
        assert.equal(stored.cancelRequested, false);
        assert.equal(stored.result, null);
        assert.equal(stored.progressMessage, '');
        const [event, ...more] = await store.jobs.listEvents(job.id, undefined, 10);
        assert.equal(more.length, 0);
        assert.deepEqual(
          event && {
            attempt: event.attempt,
            fromState: event.fromState,
            progress: event.progress,
            message: event.message,
            workerId: event.workerId,
          },
          {
            attempt: events[index]?.attempt,
            fromState: events[index]?.fromState,
            progress: events[index]?.progress,
            message: events[index]?.message,
            workerId: events[index]?.workerId,
          },
        );
      }
    });

    if (dialect === 'postgres') {
      it('when a statement starts a transaction, then nothing it wrote is seen outside until the commit', async () => {
        // A job with an idempotency key is inserted at once, not with the COMMIT.
        const job = { ...newJob(), idempotencyKey: randomUUID() };
        let seenBeforeCommit: string | undefined = 'not looked';
        await store.inTransaction(async (tx) => {
          await store.jobs.insert(tx, [job], [eventOf(job.id, 'pending', null)]);
          seenBeforeCommit = await stateOf(job.id);
        });
        assert.equal(seenBeforeCommit, undefined);
        assert.equal(await stateOf(job.id), 'pending');
      });

      it('when jobs without an idempotency key are inserted, then they commit in one round trip', async () => {
        const jobs = [newJob(), newJob()];
        const trips = await roundTrips(() =>
          store.inTransaction((tx) =>
            store.jobs.insert(
              tx,
              jobs,
              jobs.map((job) => eventOf(job.id, 'pending', null)),
            ),
          ),
        );
        assert.equal(trips, 1);
        for (const job of jobs) {
          assert.equal(await stateOf(job.id), 'pending');
          assert.deepEqual(await eventsOf(job.id), ['pending']);
        }
      });

      it('when a job with an idempotency key is inserted twice, then the second insert fails at once as a unique violation', async () => {
        const job = { ...newJob(), idempotencyKey: randomUUID() };
        await store.inTransaction((tx) => store.jobs.insert(tx, [job], [eventOf(job.id, 'pending', null)]));
        const twin = { ...newJob(), idempotencyKey: job.idempotencyKey };
        let reachedAfterInsert = false;
        await assert.rejects(
          store.inTransaction(async (tx) => {
            await store.jobs.insert(tx, [twin], [eventOf(twin.id, 'pending', null)]);
            reachedAfterInsert = true;
          }),
          UniqueViolationError,
        );
        assert.equal(reachedAfterInsert, false);
        assert.equal(await stateOf(twin.id), undefined);
      });

      it('when a transaction is not durable, then its own commit alone skips waiting for the disk', async () => {
        // One connection: a setting that outlived its transaction would show in the next one.
        const sequelize = await openDatabase({ url: database.url, poolMax: 1 });
        try {
          const run = createTransactionRunner(sequelize);
          const setting = (tx: Tx) =>
            sequelize.query<{ synchronous_commit: string }>('SHOW synchronous_commit', {
              transaction: asTransaction(tx),
              type: QueryTypes.SELECT,
            });
          const [relaxed] = await run(setting, { durable: false });
          const [durable] = await run(setting);
          assert.equal(relaxed?.synchronous_commit, 'off');
          assert.equal(durable?.synchronous_commit, 'on');
        } finally {
          await sequelize.close();
        }
      });
    }
  });
}
