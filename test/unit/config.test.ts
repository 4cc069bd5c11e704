import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../libs/config/env.js';
import { loadCoordinatorConfig } from '../../services/coordinator/config.js';
import { loadShardConfig } from '../../services/shard/config.js';

test('service config: defaults fill in, numbers are coerced from env strings', () => {
  const shard = loadShardConfig({ SHARD_INDEX: '2' });
  assert.deepEqual(shard.SHARD_INDEX, [2]);
  assert.deepEqual(loadShardConfig({ SHARD_INDEX: '0,3' }).SHARD_INDEX, [0, 3], 'one process, several shards');
  assert.equal(shard.NATS_URL, 'nats://127.0.0.1:4222');
  assert.equal(shard.SUBJECT_PREFIX, 'faces');
  assert.equal(shard.SHARD_COUNT, undefined);
  const coordinator = loadCoordinatorConfig({ SHARD_COUNT: '4', SHARD_TIMEOUT_MS: '500' });
  assert.equal(coordinator.SHARD_COUNT, 4);
  assert.equal(coordinator.SHARD_TIMEOUT_MS, 500);
  assert.equal(coordinator.LEG_PLAN_INTERVAL_MS, 2000, 'group legs looked up every 2 s by default');
  assert.equal(loadCoordinatorConfig({ LEG_PLAN_INTERVAL_MS: '0' }).LEG_PLAN_INTERVAL_MS, 0, '0 turns group legs off');
});

test('service config: a bad or missing value is an error naming the variable', () => {
  assert.throws(() => loadShardConfig({}), (err: unknown) => err instanceof ConfigError && /SHARD_INDEX/.test(err.message));
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '-1' }), /SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '1,x' }), /separated by commas[\s\S]*SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '2,2' }), /names a shard twice[\s\S]*SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '0', HTTP_PORT: '70000' }), /HTTP_PORT/);
  assert.throws(() => loadCoordinatorConfig({ SUBJECT_PREFIX: 'faces.*' }), /SUBJECT_PREFIX/);
  assert.throws(() => loadCoordinatorConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  assert.throws(() => loadCoordinatorConfig({ SHARD_COUNT: 'four' }), /SHARD_COUNT/);
  assert.throws(() => loadCoordinatorConfig({ LEG_PLAN_INTERVAL_MS: '-5' }), /LEG_PLAN_INTERVAL_MS/);
});
