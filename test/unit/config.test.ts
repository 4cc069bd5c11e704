import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { ChaosEnv } from '../../bench/chaos/config.js';
import { OverloadBenchEnv } from '../../bench/overload/config.js';
import { JobQueueEnv } from '../../libs/nats/cluster/job-stream.js';
import { ConfigError, DEFAULT_NATS_URL, parseEnv } from '../../libs/config/env.js';
import { withRenamedEnv } from '../../libs/config/renamed-env.js';
import { SERVICE_VERSION } from '../../libs/config/service-version.js';
import { DEFAULT_SUBJECT_PREFIX } from '../../libs/protocol/index.js';
import { CoordinatorEnv, loadCoordinatorConfig } from '../../services/coordinator/config.js';
import { EncoderEnv, EncoderRenamedEnv } from '../../services/encoder/config.js';
import { loadShardConfig, ShardEnv } from '../../services/shard/config.js';
import { K8S_DIR, repoRoot } from '../helpers/k8s.js';

test('service config: defaults fill in, numbers are coerced from env strings', () => {
  const shard = loadShardConfig({ SHARD_INDEX: '2' });
  assert.deepEqual(shard.SHARD_INDEX, [2]);
  assert.deepEqual(loadShardConfig({ SHARD_INDEX: '0,3' }).SHARD_INDEX, [0, 3], 'one process, several shards');
  assert.equal(shard.NATS_URL, DEFAULT_NATS_URL);
  assert.equal(DEFAULT_NATS_URL, 'nats://127.0.0.1:4222');
  assert.equal(shard.SUBJECT_PREFIX, DEFAULT_SUBJECT_PREFIX);
  assert.equal(DEFAULT_SUBJECT_PREFIX, 'faces');
  assert.equal(shard.SHARD_COUNT, undefined);
  const coordinator = loadCoordinatorConfig({ SHARD_COUNT: '4', SHARD_TIMEOUT_MS: '500' });
  assert.equal(coordinator.SHARD_COUNT, 4);
  assert.equal(coordinator.SHARD_TIMEOUT_MS, 500);
  assert.equal(coordinator.LEG_PLAN_INTERVAL_MS, 2000, 'group legs looked up every 2 s by default');
  assert.equal(loadCoordinatorConfig({ LEG_PLAN_INTERVAL_MS: '0' }).LEG_PLAN_INTERVAL_MS, 0, '0 turns group legs off');
});

test('service config: a bad or missing value is an error naming the variable', () => {
  assert.throws(
    () => loadShardConfig({}),
    (err: unknown) => err instanceof ConfigError && /SHARD_INDEX/.test(err.message),
  );
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '-1' }), /SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '1,x' }), /separated by commas[\s\S]*SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '2,2' }), /names a shard twice[\s\S]*SHARD_INDEX/);
  assert.throws(() => loadShardConfig({ SHARD_INDEX: '0', HTTP_PORT: '70000' }), /HTTP_PORT/);
  assert.throws(() => loadCoordinatorConfig({ SUBJECT_PREFIX: 'faces.*' }), /SUBJECT_PREFIX/);
  assert.throws(() => loadCoordinatorConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  assert.throws(() => loadCoordinatorConfig({ SHARD_COUNT: 'four' }), /SHARD_COUNT/);
  assert.throws(() => loadCoordinatorConfig({ LEG_PLAN_INTERVAL_MS: '-5' }), /LEG_PLAN_INTERVAL_MS/);
});

/** Every env schema: the services', the encode queue's bound, the benches'. */
const ENV_SCHEMAS = { CoordinatorEnv, ShardEnv, EncoderEnv, JobQueueEnv, ChaosEnv, OverloadBenchEnv };

/** Words that make a name a duration, whatever its suffix says. */
const DURATION_WORDS = new Set([
  'TIMEOUT',
  'INTERVAL',
  'WAIT',
  'DELAY',
  'QUIET',
  'EJECT',
  'SLICE',
  'TTL',
  'AGE',
  'BACKOFF',
  'PAUSE',
  'WARMUP',
  'SETTLE',
  'DEADLINE',
  'PERIOD',
  'DURATION',
]);
/** Units spelled any other way than the rule's `_MS` / `_S`. */
const OTHER_UNIT_SPELLING = /_(MILLIS|MILLISECONDS|MSEC|SEC|SECS|SECOND|SECONDS|MIN|MINS|MINUTE|MINUTES|HOUR|HOURS|US|NS)$/;

/** Why `name` breaks the unit rule of libs/config/env.ts, or undefined when it keeps it. */
function unitRuleBreak(name: string): string | undefined {
  if (OTHER_UNIT_SPELLING.test(name)) return `${name}: a unit spelled other than _MS or _S`;
  const isDuration = name.split('_').some((word) => DURATION_WORDS.has(word));
  if (isDuration && !/_(MS|S)$/.test(name)) return `${name}: a duration without _MS or _S`;
  return undefined;
}

test('env unit rule: every duration variable ends in _MS or _S', () => {
  // The check itself: it catches the names the rule replaced and leaves counts alone.
  assert.ok(unitRuleBreak('ENCODE_ACK_WAIT_SECONDS'));
  assert.ok(unitRuleBreak('DRAIN_TIMEOUT'));
  assert.equal(unitRuleBreak('ENCODE_REQUESTS_WAITING'), undefined, 'a count, not a wait');
  assert.equal(unitRuleBreak('LEG_HEDGE_MIN_MS'), undefined);

  const breaks = Object.values(ENV_SCHEMAS)
    .flatMap((schema) => Object.keys(schema.shape))
    .map(unitRuleBreak)
    .filter((found) => found !== undefined);
  assert.deepEqual(breaks, []);
  for (const old of Object.values(EncoderRenamedEnv)) assert.ok(unitRuleBreak(old), `${old} was renamed for the rule`);
});

test('renamed env: an old name is read while the new one is unset, with a warning naming the new one', () => {
  assert.deepEqual(withRenamedEnv({ A_S: '1' }, { A_S: 'A_SECONDS' }).oldNamesRead, [], 'nothing to translate');
  const schema = z.object({ A_S: z.coerce.number().default(9) });
  const warnings: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((line: string) => warnings.push(line) > 0) as typeof process.stderr.write;
  try {
    assert.equal(parseEnv('test', schema, { A_SECONDS: '3' }, { A_S: 'A_SECONDS' }).A_S, 3);
    assert.equal(parseEnv('test', schema, { A_SECONDS: '3', A_S: '4' }, { A_S: 'A_SECONDS' }).A_S, 4, 'the new name wins');
  } finally {
    process.stderr.write = write;
  }
  assert.equal(warnings.length, 1, 'a warning only when the old name was read');
  assert.match(warnings[0], /"level":"warn".*A_SECONDS is renamed A_S/);
});

test('deploy/k8s sets no renamed variable by its old name', () => {
  const files = readdirSync(K8S_DIR(), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  assert.ok(files.length > 0);
  for (const entry of files) {
    const text = readFileSync(`${entry.parentPath}/${entry.name}`, 'utf8');
    for (const old of Object.values(EncoderRenamedEnv)) assert.ok(!text.includes(old), `${entry.name} sets ${old}`);
  }
});

test('services announce the package version, read from package.json', () => {
  const manifest = JSON.parse(readFileSync(`${repoRoot()}/package.json`, 'utf8')) as { version: string };
  assert.equal(SERVICE_VERSION, manifest.version);
});
