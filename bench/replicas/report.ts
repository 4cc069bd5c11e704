/** bench/results/replicas.md and .json from the replica-scaling runs. */
import { writeFile } from 'node:fs/promises';
import type { MachineFacts } from '../run-facts.js';

export interface SteadyRun {
  replicas: number;
  concurrency: number;
  seconds: number;
  answered: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  partial: number;
  errors: number;
  /** CPU used during the run, in cores (CPU seconds / wall seconds). */
  coordinatorCores: number;
  natsCores: number;
  /** The bench process: the load worker's client and this thread. */
  loadCores: number;
  perReplica: { name: string; legs: number; vectors: number; cores: number; throttledShare: number; throttledMsPerSecond: number }[];
}

export interface LiveAdd {
  from: number;
  to: number;
  bucketMs: number;
  /** Seconds from the run's start. */
  spawnedAtS: number;
  readyAtS: number | null;
  rates: number[];
  partial: number;
  errors: number;
}

export interface ReplicasResult {
  machine: MachineFacts;
  /** The product measured. */
  commit: string;
  cgroup: { version: string; root: string };
  /** The coordinator's QUERY_SCATTERS_IN_FLIGHT. */
  scattersInFlight: string;
  /** The coordinator's LEG_ROUTING and QUERY_SCATTERS_PER_REPLICA ('default' when not set); absent in runs before they existed. */
  legRouting?: string;
  scattersPerReplica?: string;
  shards: number;
  faces: number;
  coresPerReplica: number;
  /** Queries in flight per replica of a shard: R replicas are driven at R times it. */
  concurrencyPerReplica: number;
  steadyMs: number;
  steadyRuns: SteadyRun[];
  /** Saturation check: one replica at twice the per-replica concurrency. */
  concurrencyCheck: SteadyRun;
  liveAdds: LiveAdd[];
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function scalingTable(result: ReplicasResult): string[] {
  const base = result.steadyRuns[0].qps;
  const rows = result.steadyRuns.map((r) => {
    const ratio = r.qps / base;
    const target = 0.85 * r.replicas;
    return `| ${r.replicas} | ${r.concurrency} | ${fmt(r.qps)} | ${ratio.toFixed(2)} | ${target.toFixed(2)} | ${ratio >= target ? 'yes' : 'no'} | ${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)} | ${r.partial} | ${fmt(r.coordinatorCores, 2)} | ${fmt(r.natsCores, 2)} | ${fmt(r.loadCores, 2)} |`;
  });
  return [
    '| replicas per shard | in flight | q/s | ratio to 1 | target 0.85 x R | met | p50 / p99 ms | partial | coordinator cores | nats-server cores | load client cores |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

function replicaTable(result: ReplicasResult): string[] {
  const runs = [...result.steadyRuns, result.concurrencyCheck];
  const rows = runs.flatMap((run) =>
    run.perReplica.map(
      (p) =>
        `| ${run.replicas} (c=${run.concurrency}) | ${p.name} | ${fmt(p.legs)} | ${fmt(p.vectors)} | ${fmt(p.vectors / run.seconds)} | ${fmt(p.cores, 3)} | ${(100 * p.throttledShare).toFixed(0)}% | ${fmt(p.throttledMsPerSecond)} |`,
    ),
  );
  return [
    '| run (replicas) | replica | legs answered | query vectors answered | vectors/s | CPU cores used | periods throttled | throttled ms/s |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

/** Per run: were the replicas busy (CPU used against the quota, periods throttled) and evenly loaded? */
function diagnosisTable(result: ReplicasResult): string[] {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [...result.steadyRuns, result.concurrencyCheck].map((run) => {
    const vectors = run.perReplica.map((p) => p.vectors);
    const used = mean(run.perReplica.map((p) => p.cores)) / result.coresPerReplica;
    const throttled = mean(run.perReplica.map((p) => p.throttledShare));
    const vectorsPerLeg = vectors.reduce((a, b) => a + b, 0) / run.perReplica.reduce((a, p) => a + p.legs, 0);
    // Replica CPU seconds per query vector answered: what a vector costs as legs shrink.
    const msPerVector = (1000 * run.seconds * run.perReplica.reduce((a, p) => a + p.cores, 0)) / vectors.reduce((a, b) => a + b, 0);
    return `| ${run.replicas} | ${run.concurrency} | ${(100 * used).toFixed(0)}% | ${(100 * throttled).toFixed(0)}% | ${fmt(Math.min(...vectors))} / ${fmt(Math.max(...vectors))} | ${vectorsPerLeg.toFixed(2)} | ${msPerVector.toFixed(3)} | ${fmt(run.coordinatorCores + run.natsCores + run.loadCores, 2)} |`;
  });
  return [
    '| replicas | concurrency | replica CPU used / quota (mean) | periods throttled (mean) | query vectors per replica min / max | query vectors per leg (coalescing) | replica CPU ms per query vector | coordinator + nats-server + client cores |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

function liveLines(add: LiveAdd): string[] {
  const before = add.rates.slice(0, Math.floor((add.spawnedAtS * 1000) / add.bucketMs));
  const afterStart = add.readyAtS === null ? add.rates.length : Math.ceil((add.readyAtS * 1000) / add.bucketMs);
  const after = add.rates.slice(afterStart + 1, -1); // the last bucket is cut short by the run's end
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return [
    `- ${add.from} -> ${add.to} replicas: spawned at ${add.spawnedAtS.toFixed(1)} s, ready (in status) at ${add.readyAtS === null ? 'not within the run' : `${add.readyAtS.toFixed(1)} s`}; mean q/s before ${fmt(mean(before))}, after ready ${fmt(mean(after))}; partial ${add.partial}, errors ${add.errors}.`,
    `  q/s per ${add.bucketMs / 1000} s bucket: ${add.rates.map((r) => fmt(r)).join(', ')}`,
  ];
}

export async function writeReport(result: ReplicasResult): Promise<void> {
  const cappedTotal = result.coresPerReplica * result.shards * 4;
  const md = [
    '# Replica scaling (issue 22, "Replicas add throughput")',
    '',
    `Machine: ${result.machine.cores} cores, load average ${result.machine.loadavgAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${result.machine.loadavg.map((l) => l.toFixed(2)).join(' ')} at the end (another engineer's tests share this machine), Node ${result.machine.node}, nats-server ${result.machine.natsServer ?? '?'}; product at ${result.commit}.`,
    `${result.shards} shards, ${fmt(result.faces)} faces (${fmt(result.faces / result.shards)} a shard), one shard per replica process, authentication on. Each shard replica process in its own cgroup (${result.cgroup.version}, under ${result.cgroup.root}) capped to ${result.coresPerReplica} core (CFS quota ${result.coresPerReplica * 100} ms per 100 ms period): at 4 replicas ${result.shards} x 4 x ${result.coresPerReplica} = ${cappedTotal.toFixed(1)} cores capped, leaving ${(result.machine.cores - cappedTotal).toFixed(1)} of ${result.machine.cores} for the coordinator, nats-server and the load client (none of them capped).`,
    `Queries: approximate top-10 through faces.query, ${result.concurrencyPerReplica} in flight per replica of a shard (${result.concurrencyPerReplica} x R: saturated throughput needs the load to grow with the replicas; a load worker thread in the bench process), ${result.steadyMs / 1000} s a run after a 2 s warm-up, coordinator QUERY_SCATTERS_IN_FLIGHT ${result.scattersInFlight}${result.legRouting ? `, LEG_ROUTING ${result.legRouting}, QUERY_SCATTERS_PER_REPLICA ${result.scattersPerReplica}` : ''}, measured once each replica count's replicas had trained their lists and snapshotted.`,
    '',
    ...scalingTable(result),
    '',
    `Saturation check at ${result.concurrencyCheck.replicas} replica, ${result.concurrencyCheck.concurrency} in flight: ${fmt(result.concurrencyCheck.qps)} q/s (p50 ${fmt(result.concurrencyCheck.p50Ms, 1)} ms, p99 ${fmt(result.concurrencyCheck.p99Ms, 1)} ms, partial ${result.concurrencyCheck.partial}), against ${fmt(result.steadyRuns[0].qps)} at ${result.steadyRuns[0].concurrency}: the baseline the ratios divide by is saturated when more load does not raise it.`,
    '',
    '## Where the time went',
    '',
    ...diagnosisTable(result),
    '',
    '## Per replica: balance of legs, CPU and throttling',
    '',
    ...replicaTable(result),
    '',
    '## A replica added while queries run',
    '',
    'Each added replica (one per shard) starts capped, replays its shard from the log, then joins its query subjects (the coordinator routes to it once discovery sees it); time 0 is the start of the run.',
    '',
    ...result.liveAdds.flatMap(liveLines),
    '',
  ].join('\n');
  await writeFile(new URL('../../../bench/results/replicas.md', import.meta.url), md);
  await writeFile(new URL('../../../bench/results/replicas.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  console.log(md);
}
