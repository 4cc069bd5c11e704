/**
 * What authentication costs (issue 20): two local clusters side by side, the same shape
 * as `faceshard up` (4 shards in one shard process per core), one with authentication
 * (every process its own identity, allow-lists, per-identity inboxes) and one open
 * (`--no-auth`). Both stay up for the whole run and are measured in alternating rounds,
 * on, off, on, off, ..., so a slow moment of the host falls on both:
 *   - ingest: ROUND_FACES fresh faces a round through faces.ingest, faces/s acknowledged;
 *   - queries: approximate top-10 through faces.query at concurrency 64 and 1, q/s, p50/p99.
 * `sync_interval: always` against the default needs nats-server >= 2.10; with an older
 * server the run says so instead of measuring it.
 * Writes bench/results/security.md and .json. Run: npm run build && node dist/bench/security/run.js
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { FaceToIngest } from '../../libs/nats/client/index.js';
import { compareVersions, findNatsServer, natsServerVersion } from '../../libs/local/nats-server/index.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';
import { startBenchCluster, waitForIdleIndexMaintenance, waitForSnapshots, type BenchCluster } from '../cluster.js';
import { percentile } from '../percentile.js';
import { QueryLoad } from '../query-load.js';

const SHARDS = 4;
const ROUNDS = Number(process.env.BENCH_SECURITY_ROUNDS ?? 3);
const ROUND_FACES = 100_000;
const QUERY_MS = 5_000;
const QUERIES = 1000;

type Mode = 'auth' | 'open';
interface Sample {
  mode: Mode;
  ingestFacesPerSecond: number[];
  c64: { qps: number; p50Ms: number; p99Ms: number }[];
  c1: { qps: number; p50Ms: number; p99Ms: number }[];
}

const median = (values: number[]) => percentile(values, 50);

function facesOfRound(round: number, mode: Mode): FaceToIngest[] {
  const data = syntheticFaces({ identities: ROUND_FACES / 5, photosPerIdentity: 5, seed: 100 + round });
  return data.ids.map((id, i) => ({ id: `${mode}-${round}-${id}`, vector: data.vectors.subarray(i * DIMS, (i + 1) * DIMS) }));
}

async function ingestRound(bench: BenchCluster, faces: FaceToIngest[]): Promise<number> {
  const t0 = performance.now();
  const reply = await bench.client.ingestMany(faces, { concurrency: 4 });
  const seconds = (performance.now() - t0) / 1000;
  if (reply.accepted !== faces.length) throw new Error(`ingest accepted ${reply.accepted} of ${faces.length}`);
  return faces.length / seconds;
}

async function queryRound(load: QueryLoad, concurrency: number) {
  const options = { k: 10, approximate: true, timeoutMs: 60_000 };
  await load.run({ concurrency, maxQueries: 100 * concurrency, limitMs: 1_000, options, order: 'reverse', keepIds: 0 });
  const run = await load.run({ concurrency, maxQueries: 1_000_000, limitMs: QUERY_MS, options, order: 'forward', keepIds: 0 });
  if (run.partial) throw new Error(`${run.partial} partial answers: the comparison would not be fair`);
  return { qps: run.latenciesMs.length / run.seconds, p50Ms: percentile(run.latenciesMs, 50), p99Ms: percentile(run.latenciesMs, 99) };
}

async function main() {
  const binary = findNatsServer();
  const version = binary ? natsServerVersion(binary) : undefined;
  const clusters: Record<Mode, BenchCluster> = {
    auth: await startBenchCluster('security-auth', SHARDS, undefined, true),
    open: await startBenchCluster('security-open', SHARDS, undefined, false),
  };
  const samples: Record<Mode, Sample> = {
    auth: { mode: 'auth', ingestFacesPerSecond: [], c64: [], c1: [] },
    open: { mode: 'open', ingestFacesPerSecond: [], c64: [], c1: [] },
  };
  const order: Mode[] = ['auth', 'open'];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 ? [...order].reverse() : order) {
        const rate = await ingestRound(clusters[mode], facesOfRound(round, mode));
        samples[mode].ingestFacesPerSecond.push(rate);
        console.log(`ingest round ${round + 1}, ${mode}: ${Math.round(rate)} faces/s`);
      }
    }
    for (const mode of order) {
      await waitForIdleIndexMaintenance(clusters[mode].client, SHARDS);
      await waitForSnapshots(clusters[mode].client, SHARDS);
    }
    const queries = syntheticFaces({ identities: QUERIES, photosPerIdentity: 1, seed: 999 }).vectors;
    const loads = {
      auth: await QueryLoad.start(clusters.auth.natsUrl, clusters.auth.security, queries, DIMS),
      open: await QueryLoad.start(clusters.open.natsUrl, clusters.open.security, queries, DIMS),
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of round % 2 ? [...order].reverse() : order) {
          const c64 = await queryRound(loads[mode], 64);
          const c1 = await queryRound(loads[mode], 1);
          samples[mode].c64.push(c64);
          samples[mode].c1.push(c1);
          console.log(
            `query round ${round + 1}, ${mode}: c64 ${c64.qps.toFixed(0)} q/s (p99 ${c64.p99Ms.toFixed(2)} ms), c1 ${c1.qps.toFixed(0)} q/s (p99 ${c1.p99Ms.toFixed(2)} ms)`,
          );
        }
      }
    } finally {
      await loads.auth.close();
      await loads.open.close();
    }
  } finally {
    await clusters.auth.close();
    await clusters.open.close();
  }

  const summary = (mode: Mode) => ({
    ingestFacesPerSecond: median(samples[mode].ingestFacesPerSecond),
    c64Qps: median(samples[mode].c64.map((s) => s.qps)),
    c64P99Ms: median(samples[mode].c64.map((s) => s.p99Ms)),
    c1Qps: median(samples[mode].c1.map((s) => s.qps)),
    c1P50Ms: median(samples[mode].c1.map((s) => s.p50Ms)),
    c1P99Ms: median(samples[mode].c1.map((s) => s.p99Ms)),
  });
  const auth = summary('auth');
  const open = summary('open');
  const syncNote =
    version && compareVersions(version, '2.10.0') >= 0
      ? 'not measured yet by this bench'
      : `not measured: this machine's nats-server is ${version ?? 'of unknown version'}, and sync_interval needs nats-server >= 2.10`;
  const result = {
    machine: { cores: os.cpus().length, loadavg: os.loadavg(), node: process.version, natsServer: version ?? null },
    rounds: ROUNDS,
    roundFaces: ROUND_FACES,
    samples,
    auth,
    open,
    syncIntervalAlways: syncNote,
  };
  const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}`;
  const md = [
    '# Cost of authentication (issue 20)',
    '',
    `Machine: ${result.machine.cores} cores, load average ${result.machine.loadavg.map((l) => l.toFixed(2)).join(' ')}, Node ${result.machine.node}, nats-server ${version ?? '?'}.`,
    `Two local clusters up side by side (${SHARDS} shards each, one shard process per core), measured in ${ROUNDS} alternating rounds; medians.`,
    `Each ingest round: ${fmt(ROUND_FACES)} new faces; queries: approximate top-10 through faces.query, ${QUERY_MS / 1000} s a round, over ${fmt(ROUND_FACES * ROUNDS)} faces a cluster.`,
    '',
    '| measure | authentication on | open (--no-auth) | on / off |',
    '|---|---|---|---|',
    `| ingest, faces/s acknowledged | ${fmt(auth.ingestFacesPerSecond)} | ${fmt(open.ingestFacesPerSecond)} | ${ratio(auth.ingestFacesPerSecond, open.ingestFacesPerSecond)} |`,
    `| queries, concurrency 64, q/s | ${fmt(auth.c64Qps)} | ${fmt(open.c64Qps)} | ${ratio(auth.c64Qps, open.c64Qps)} |`,
    `| queries, concurrency 64, p99 ms | ${fmt(auth.c64P99Ms, 2)} | ${fmt(open.c64P99Ms, 2)} | ${ratio(auth.c64P99Ms, open.c64P99Ms)} |`,
    `| queries, concurrency 1, q/s | ${fmt(auth.c1Qps)} | ${fmt(open.c1Qps)} | ${ratio(auth.c1Qps, open.c1Qps)} |`,
    `| queries, concurrency 1, p50 / p99 ms | ${fmt(auth.c1P50Ms, 2)} / ${fmt(auth.c1P99Ms, 2)} | ${fmt(open.c1P50Ms, 2)} / ${fmt(open.c1P99Ms, 2)} | ${ratio(auth.c1P50Ms, open.c1P50Ms)} / ${ratio(auth.c1P99Ms, open.c1P99Ms)} |`,
    '',
    `Ingest with sync_interval: always against the default: ${syncNote}.`,
    '',
  ].join('\n');
  await writeFile(new URL('../../../bench/results/security.md', import.meta.url), md);
  await writeFile(new URL('../../../bench/results/security.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
