import assert from 'node:assert/strict';
import convict from 'convict';
import { ConfigError, describeConfig, loadConfig } from '../../config';
import { CONFIG_SCHEMA } from '../../config/schema';

const TOKEN_A = 'a'.repeat(16);
const TOKEN_B = 'b'.repeat(24);

/** The schema read with exactly these environment variables, as loadConfig reads process.env. */
function fromEnv(env: Record<string, string>) {
  return convict(CONFIG_SCHEMA, { env, args: [] });
}

describe('configuration', () => {
  it('when overrides are given, then they win over config/test.json and the defaults apply elsewhere', () => {
    const config = loadConfig({ env: 'test', 'grpc.port': 4321, 'log.level': 'debug' });

    assert.equal(config.grpc.port, 4321);
    assert.equal(config.log.level, 'debug');
    assert.equal(config.grpc.shutdownGraceMs, 2000, 'from config/test.json');
    assert.equal(config.database.poolMax, 10, 'the default');
  });

  it('when an override is invalid, then loading throws a ConfigError naming the key', () => {
    assert.throws(
      () => loadConfig({ env: 'test', 'grpc.port': 99_999 }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /grpc\.port/);
        return true;
      },
    );
  });

  it('when an override names a key that does not exist, then loading fails', () => {
    assert.throws(
      () => loadConfig({ env: 'test', 'grpc.prot': 1 }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /grpc\.prot\b/);
        return true;
      },
    );
  });

  it('when the tokens variable holds a comma-separated list, then it becomes a list without empty entries', () => {
    const config = fromEnv({ AUTH_CLIENT_TOKENS: `${TOKEN_A},${TOKEN_B},`, AUTH_WORKER_TOKENS: TOKEN_B });
    config.validate({ allowed: 'strict' });

    assert.deepEqual(config.get('auth.clientTokens'), [TOKEN_A, TOKEN_B]);
    assert.deepEqual(config.get('auth.workerTokens'), [TOKEN_B]);
  });

  it('when one listed token is too short, then validation names auth.clientTokens without printing a token', () => {
    const config = fromEnv({ AUTH_CLIENT_TOKENS: `${TOKEN_A},tiny` });

    assert.throws(
      () => config.validate({ allowed: 'strict' }),
      (error: Error) =>
        /auth\.clientTokens/.test(error.message) && !error.message.includes(TOKEN_A) && !error.message.includes('tiny'),
    );
  });

  it('when numbers and booleans come from the environment, then they are parsed', () => {
    const config = fromEnv({ GRPC_PORT: '6000', DATABASE_MIGRATE_ON_START: 'false', SHUTDOWN_GRACE_MS: '250' });

    assert.equal(config.get('grpc.port'), 6000);
    assert.equal(config.get('database.migrateOnStart'), false);
    assert.equal(config.get('grpc.shutdownGraceMs'), 250);
  });

  it('when the worker prefetch comes from the environment, then it is a whole number of 1 or more', () => {
    const config = fromEnv({ WORKER_PREFETCH: '50' });
    config.validate({ allowed: 'strict' });
    assert.equal(config.get('worker.prefetch'), 50);

    for (const bad of ['0', '-1', '2.5', 'many']) {
      assert.throws(
        () => fromEnv({ WORKER_PREFETCH: bad }).validate({ allowed: 'strict' }),
        /worker\.prefetch: must be a whole number of 1 or more/,
        bad,
      );
    }
  });

  it('when a setting that paces or sizes a loop, or weighs a queue, is 0, then it is refused, naming the key', () => {
    // Each of these at 0 would spin a loop, never dispatch, hold fetched jobs forever, or starve a queue.
    const mustBePositive = {
      'grpc.healthCheckIntervalMs': 'HEALTH_CHECK_INTERVAL_MS',
      'database.poolMax': 'DATABASE_POOL_MAX',
      'dispatch.intervalMs': 'DISPATCH_INTERVAL_MS',
      'dispatch.batchSize': 'DISPATCH_BATCH_SIZE',
      'dispatch.redisTimeoutMs': 'DISPATCH_REDIS_TIMEOUT_MS',
      'dispatch.reconcileIntervalMs': 'DISPATCH_RECONCILE_INTERVAL_MS',
      'dispatch.leaseSweepIntervalMs': 'DISPATCH_LEASE_SWEEP_INTERVAL_MS',
      'dispatch.retentionSweepIntervalMs': 'DISPATCH_RETENTION_SWEEP_INTERVAL_MS',
      'dispatch.retentionBatchSize': 'DISPATCH_RETENTION_BATCH_SIZE',
      'dispatch.watchPollIntervalMs': 'WATCH_POLL_INTERVAL_MS',
      'worker.concurrency': 'WORKER_CONCURRENCY',
      'worker.reportTimeoutMs': 'WORKER_REPORT_TIMEOUT_MS',
      'worker.stallIntervalMs': 'WORKER_STALL_INTERVAL_MS',
      'webhook.timeoutMs': 'WEBHOOK_TIMEOUT_MS',
      'worker.weightCritical': 'WORKER_WEIGHT_CRITICAL',
      'worker.weightDefault': 'WORKER_WEIGHT_DEFAULT',
      'worker.weightLow': 'WORKER_WEIGHT_LOW',
    };
    for (const [key, variable] of Object.entries(mustBePositive)) {
      const pattern = new RegExp(`${key.replace('.', '\\.')}: must be a whole number of 1 or more`);
      assert.throws(() => fromEnv({ [variable]: '0' }).validate({ allowed: 'strict' }), pattern, key);
      const one = fromEnv({ [variable]: '1' });
      one.validate({ allowed: 'strict' });
      assert.equal(one.get(key as 'worker.concurrency'), 1, key);
    }
  });

  it('when the result is loaded, then it cannot be changed, however deep', () => {
    const config = loadConfig({ env: 'test', 'auth.clientTokens': [TOKEN_A] });

    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.grpc) && Object.isFrozen(config.auth.clientTokens));
    assert.equal(Reflect.set(config.grpc, 'port', 1), false);
    assert.equal(Reflect.set(config, 'grpc', {}), false);
    assert.throws(() => (config.auth.clientTokens as string[]).push(TOKEN_B), TypeError);
    assert.deepEqual(config.auth.clientTokens, [TOKEN_A]);
    assert.notEqual(config.grpc.port, 1);
  });

  it('when the configuration is described, then secrets are masked', () => {
    const config = loadConfig({
      env: 'test',
      'database.url': 'postgres://tandem:hunter2-secret@db.internal:5432/tandem_test',
      'auth.clientTokens': [TOKEN_B],
    });

    const text = describeConfig(config);

    assert.doesNotMatch(text, /hunter2-secret/);
    assert.ok(!text.includes(TOKEN_B));
    assert.match(text, /shutdownGraceMs/);
  });
});
