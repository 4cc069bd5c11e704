/**
 * /healthz latency of a shard flooded with exact legs, with its search queue as
 * configured by default and with searches in one piece and no bound (SEARCH_SLICE_MS
 * huge, bounds huge: what the shard did before the queue). Not a test: prints a table.
 *
 *   node dist/bench/shard-queue/health-under-load.js [faces=120000] [seconds=15] [senders=8] [vectors=256] [setup name part]
 *
 * Built and run from a tree before the queue (commit 2defe90), every setup is the old code (the env is ignored).
 */
import { percentile } from '../percentile.js';
import { nearQueries, pollHealth, sendLeg, startLoadedShard, type LegOutcome } from '../../test/helpers/loaded-shard.js';

const [faces = 120_000, seconds = 15, senders = 8, legVectors = 256] = process.argv.slice(2, 6).map(Number);
const only = process.argv[6] ?? '';
/** The coordinator's leg timeout (SHARD_TIMEOUT_MS default); each leg carries it as its deadline. */
const LEG_TIMEOUT_MS = 2000;
const K = 3;

const setups: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'one slice a leg, bounds off', env: { SEARCH_SLICE_MS: '60000', SHARD_QUEUE_MAX_LEGS: '100000', SHARD_QUEUE_MAX_VECTORS: '10000000' } },
  { name: 'queue, defaults', env: {} },
  { name: 'queue, SEARCH_SLICE_MS=15', env: { SEARCH_SLICE_MS: '15' } },
];

const ms = (values: number[], p: number) => (values.length ? percentile(values, p).toFixed(0) : '-');
const rows: string[] = [];
for (const setup of setups.filter((s) => s.name.includes(only))) {
  const shard = await startLoadedShard(faces, setup.env);
  try {
    await sendLeg(shard.nc, nearQueries(8), K); // warm: the queue measures its time per vector
    const queries = nearQueries(legVectors * senders);
    const outcomes: Array<LegOutcome | 'timeout'> = [];
    const health = pollHealth(shard.httpPort, '/healthz', 100);
    const stopAt = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        const vectors = queries.subarray(s * legVectors * 128, (s + 1) * legVectors * 128);
        while (performance.now() < stopAt) {
          const o = await sendLeg(shard.nc, vectors, K, LEG_TIMEOUT_MS, true).catch(() => 'timeout' as const);
          outcomes.push(o);
          // A refused sender waits what it was told, as the coordinator would (elsewhere first).
          if (o !== 'timeout' && 'error' in o) await new Promise((r) => setTimeout(r, Math.min(o.error.retryAfterMs ?? 100, 500)));
        }
      }),
    );
    const healthMs = await health.stop();
    if (health.failures.length)
      console.error(`${setup.name}: ${health.failures.length} /healthz probes failed, e.g. ${[...new Set(health.failures)].slice(0, 3).join('; ')}`);
    const answered = outcomes.flatMap((o) => (o !== 'timeout' && 'reply' in o ? [o.ms] : []));
    const refused = outcomes.flatMap((o) => (o !== 'timeout' && 'error' in o && o.error.code === 'busy' ? [o.ms] : []));
    const late = outcomes.filter((o) => o === 'timeout' || ('error' in o && o.error.code !== 'busy')).length;
    rows.push(
      `| ${setup.name} | ${ms(healthMs, 50)} / ${ms(healthMs, 99)} / ${ms(healthMs, 100)} (${healthMs.filter((x) => x >= 1000).length} of ${healthMs.length} >= 1 s) | ${answered.length} (${ms(answered, 50)} / ${ms(answered, 99)}) | ${refused.length} (${ms(refused, 50)} / ${ms(refused, 99)}) | ${late} | ${((answered.length * legVectors) / seconds).toFixed(0)} |`,
    );
    console.error(rows.at(-1));
  } finally {
    await shard.cleanup();
  }
}
console.log(
  `\n${faces} faces in one shard, ${senders} senders of ${legVectors}-vector exact legs (k=${K}, deadline ${LEG_TIMEOUT_MS} ms) back to back for ${seconds} s, /healthz every 100 ms\n`,
);
console.log('| shard | /healthz ms p50 / p99 / max | legs answered (ms p50 / p99) | busy (ms p50 / p99) | timed out or expired | vectors/s answered |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
