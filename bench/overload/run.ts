/**
 * Overload (issue 22 targets): a 2-shard cluster, each shard replica process capped by a
 * cgroup CPU quota (as a small pod is), top-10 queries of one vector (exact, as `faceshard query` sends).
 * 1. Goodput vs concurrency: the saturating concurrency C_sat (doubling from 1 until q/s
 *    rises by no more than 10%), then C_sat, 2x, 4x, 8x: complete, partial, `busy`
 *    refusals, timeouts, latencies; a client refused waits the retry hint (capped).
 * 2. /healthz of every shard process and the coordinator, polled during every level.
 * 3. A second replica per shard, load at C_sat, one replica of shard 0 paused (SIGSTOP)
 *    for 5 s: what the clients saw, and the twin's q/s against the paused one's per 250 ms.
 * Writes bench/results/overload.md and .json (BENCH_OVERLOAD_OUT picks another name).
 * Run (root): npm run build && node dist/bench/overload/run.js
 */
import os from 'node:os';
import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { machineFacts, productCommit } from '../run-facts.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';
import { CgroupCpuUnavailable, openCpuCgroups, type CpuCgroups } from '../cgroup-cpu.js';
import { ingestInSteps, startBenchCluster, waitForIdleIndexMaintenance, waitForSnapshots } from '../cluster.js';
import { measureHostJitter } from '../host-jitter.js';
import { loadOverloadBenchConfig } from './config.js';
import { startHealthProbes, type ProbeTarget } from './health-probe.js';
import { runOverloadLoad, type OverloadRun } from './load.js';
import { saturatingConcurrency, saturationConfirmed, summarize } from './outcomes.js';
import { pauseRun } from './pause-run.js';
import { writeOverloadReport, type LevelResult, type SearchStep } from './report.js';
import { startReplicas, waitUntilReady } from './twin-replicas.js';

const SHARDS = 2;
const MAX_CONCURRENCY = 256;
const MULTIPLES = [1, 2, 4, 8];
/** Replay of 100,000 faces a shard at 0.1 core took 47 s (bench/results/replicas.md). */
const READY_TIMEOUT_MS = 300_000;
const WARMUP_RUN_MS = 3000;

async function main() {
  const config = loadOverloadBenchConfig();
  const OPTIONS = { k: 10, approximate: config.BENCH_OVERLOAD_APPROXIMATE };
  const loadavgAtStart = os.loadavg();
  const cg = cpuCgroupsOrWhyNot();
  if (typeof cg === 'string') return console.error(`overload bench SKIPPED: ${cg}`);
  const jitterAtStart = measureHostJitter();
  const bench = await startBenchCluster('overload', SHARDS, SHARDS);
  const { client, security, natsUrl, local: cluster } = bench;
  process.once('exit', () => cg.removeAll()); // a crash skips the finally below; the supervisor kills the replicas on exit
  process.once('SIGINT', () => void bench.close().finally(() => process.exit(130)));
  try {
    const data = syntheticFaces({ identities: config.BENCH_OVERLOAD_FACES / 5, photosPerIdentity: 5, seed: 7 });
    await ingestInSteps(
      client,
      data.ids.map((id, i) => ({ id, vector: data.vectors.subarray(i * DIMS, (i + 1) * DIMS) })),
    );
    await settle(client);

    const status = await client.status(2000);
    const coordinator = status.coordinators[0];
    const shardProcesses: (ProbeTarget & { pid: number })[] = status.shards.map((s) => ({
      name: `shard-${s.index}.0`,
      pid: s.replicas[0].pid,
      httpPort: s.replicas[0].httpPort!,
    }));
    for (const p of shardProcesses) cg.create(`overload-${p.name}`, config.BENCH_OVERLOAD_REPLICA_CORES).add(p.pid); // named apart from the replicas bench's groups
    const probeTargets: ProbeTarget[] = [{ name: 'coordinator', httpPort: coordinator.httpPort! }, ...shardProcesses];

    const queries = syntheticFaces({ identities: 1000, photosPerIdentity: 1, seed: 999 }).vectors;
    const load = (concurrency: number, durationMs: number): OverloadRun => ({
      natsUrl,
      security,
      queries,
      dims: DIMS,
      concurrency,
      durationMs,
      options: { ...OPTIONS, timeoutMs: config.BENCH_OVERLOAD_TIMEOUT_MS },
      retryCapMs: config.BENCH_OVERLOAD_RETRY_CAP_MS,
    });

    // 1. The saturating concurrency: double until CONFIRMING_STEPS more doublings have not raised q/s by more than 10%.
    await runOverloadLoad(load(8, WARMUP_RUN_MS)); // compiled and connected before the first step counts
    const steps: SearchStep[] = [];
    const searchWarmupMs = Math.min(config.BENCH_OVERLOAD_WARMUP_MS, config.BENCH_OVERLOAD_PROBE_MS / 5);
    for (let c = 1; c <= MAX_CONCURRENCY; c *= 2) {
      const record = await runOverloadLoad(load(c, config.BENCH_OVERLOAD_PROBE_MS));
      const summary = summarize(record, searchWarmupMs, config.BENCH_OVERLOAD_PROBE_MS);
      steps.push({ concurrency: c, qps: summary.goodput, summary });
      console.log(
        `search c=${c}: ${summary.goodput.toFixed(0)} complete/s, partial ${summary.partial}, busy ${summary.busy}, timeouts ${summary.timeouts}, other ${summary.other}`,
      );
      if (saturationConfirmed(steps)) break;
    }
    const cSatFound = saturatingConcurrency(steps);
    const cSat = config.BENCH_OVERLOAD_C_SAT ?? cSatFound;
    console.log(`C_sat = ${cSatFound}${cSat === cSatFound ? '' : `; the levels use ${cSat} (BENCH_OVERLOAD_C_SAT)`}`);

    // 1 and 2. Each level with the probes polling.
    const levels: LevelResult[] = [];
    for (const multiple of MULTIPLES) {
      const concurrency = cSat * multiple;
      const probes = startHealthProbes(probeTargets);
      const record = await runOverloadLoad(load(concurrency, config.BENCH_OVERLOAD_LEVEL_MS));
      const health = await probes.stop();
      const summary = summarize(record, config.BENCH_OVERLOAD_WARMUP_MS, config.BENCH_OVERLOAD_LEVEL_MS);
      levels.push({ multiple, concurrency, summary, health, otherSamples: record.otherSamples });
      console.log(
        `level ${multiple}x (c=${concurrency}): ${summary.goodput.toFixed(0)} complete/s, partial ${summary.partial}, busy ${summary.busy}, timeouts ${summary.timeouts}, other ${summary.other}, accepted p99 ${summary.acceptedP99Ms.toFixed(0)} ms; healthz p99 ${health.map((h) => `${h.name} ${h.p99Ms.toFixed(0)}`).join(', ')} ms`,
      );
    }

    // 3. A twin for each shard, then one replica of shard 0 paused under load at C_sat.
    const twins = startReplicas(cluster, bench.dataDir, SHARDS, 1);
    await waitUntilReady(
      client,
      twins.map((t) => t.pid),
      READY_TIMEOUT_MS,
    );
    await settle(client);
    for (const t of twins) cg.create(`overload-${t.name}`, config.BENCH_OVERLOAD_REPLICA_CORES).add(t.pid); // capped once replayed: only the measured part needs the cap
    await runOverloadLoad(load(cSat, WARMUP_RUN_MS)); // the twins' code compiled before the measured run
    const ports = new Map((await client.status(2000)).shards.flatMap((s) => s.replicas).map((r) => [r.pid, r.httpPort!]));
    const twinTargets = twins.map((t) => ({ name: t.name, pid: t.pid, httpPort: ports.get(t.pid)! }));
    const paused = shardProcesses[0];
    const twin = twinTargets.find((t) => t.name === 'shard-0.1')!;
    const pause = await pauseRun({
      load: (durationMs) => runOverloadLoad(load(cSat, durationMs)),
      concurrency: cSat,
      paused,
      twin,
      probeTargets: [...probeTargets, ...twinTargets],
      pauseMs: config.BENCH_OVERLOAD_PAUSE_MS,
      legTimeoutMs: Number(process.env.SHARD_TIMEOUT_MS ?? 2000),
    });
    await writeOverloadReport(process.env.BENCH_OVERLOAD_OUT ?? 'overload', {
      machine: {
        ...machineFacts(loadavgAtStart),
        jitterAtStart,
        jitterAtEnd: measureHostJitter(),
      },
      commit: productCommit(),
      cgroup: { version: cg.version, root: cg.root },
      config,
      shards: SHARDS,
      query: OPTIONS,
      steps,
      searchWarmupMs,
      cSatFound,
      cSat,
      levels,
      pause,
    });
  } finally {
    await bench.close();
    cg.removeAll();
  }
}

/** The host's CPU cgroups, or why they cannot be had (the bench is then skipped, saying so). */
function cpuCgroupsOrWhyNot(): CpuCgroups | string {
  try {
    return openCpuCgroups();
  } catch (err) {
    if (err instanceof CgroupCpuUnavailable) return err.message;
    throw err;
  }
}

/** Waits until every replica has trained its lists and snapshotted (that work would eat the replicas' quota during a level). */
async function settle(client: FaceshardClient) {
  const settled = (await waitForIdleIndexMaintenance(client, SHARDS)) && (await waitForSnapshots(client, SHARDS, 300_000));
  if (!settled) throw new Error('the replicas did not finish training their lists and snapshotting');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
