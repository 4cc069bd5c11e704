#!/usr/bin/env node
// npm run chaos: the whole fault set against a cluster of network-namespace hosts (issue 22).
// Writes bench/results/chaos.md and chaos.json; exits 1 when an invariant failed, 2 when
// this machine cannot run it (not root, no `ip`).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { ChaosCluster } from './cluster.js';
import { loadChaosConfig } from './config.js';
import { delayFault, killFault, lossFault, partitionFault, pauseFault, pauseStreamLeaderFault } from './faults.js';
import { guardLab } from './lab-lifetime.js';
import type { LoadOptions } from './load.js';
import { netnsUnavailableReason, sweepStaleLabs } from './netns.js';
import { allInvariantsHold, chaosMarkdown, phaseInvariants } from './report.js';
import { runScenario } from './scenario.js';

const config = loadChaosConfig();
const unavailable = netnsUnavailableReason();
if (unavailable) {
  console.error(`chaos: cannot run here: ${unavailable}`);
  process.exit(2);
}
const swept = sweepStaleLabs();
if (swept.length) console.error(`chaos: removed a stale lab left by a killed run: ${swept.join(', ')}`);

const SHARDS = 2;
const REPLICAS = 2;
const COORDINATORS = 2;
const load: LoadOptions = {
  ingestBatch: 10,
  ingestPauseMs: 200,
  updateBatch: 3,
  updatePauseMs: 300,
  deleteBatch: 2,
  deletePauseMs: 600,
  queryLoops: config.CHAOS_QUERY_LOOPS,
  queryPauseMs: 100,
  queryVectors: 3,
  k: 5,
  writeTimeoutMs: 10_000,
  queryTimeoutMs: 10_000,
  seed: config.CHAOS_SEED,
};

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'faceshard-chaos-'));
console.error(`chaos: stores and logs in ${dataDir}`);
const booted = Date.now();
const cluster = ChaosCluster.create({ dataDir, shards: SHARDS, replicas: REPLICAS, coordinators: COORDINATORS });
const release = guardLab(cluster, config.CHAOS_MAX_S * 1000);
try {
  await cluster.boot();
} catch (err) {
  release();
  console.error(`chaos: the cluster did not start: ${(err as Error).message}\nchaos: stores and logs kept in ${dataDir}`);
  process.exit(1);
}
console.error(`chaos: ${cluster.processes.size} hosts ready in ${((Date.now() - booted) / 1000).toFixed(1)} s on ${cluster.lab.subnet}.0/24`);

const faults = [
  killFault('s0a'),
  killFault('c2'),
  killFault('n3'),
  pauseFault('s1b'),
  pauseFault('n2'),
  pauseStreamLeaderFault(),
  partitionFault('s0b'),
  partitionFault('n3'),
  partitionFault('c2'),
  delayFault(300, 0.05),
  lossFault('s1a', '64kbit'),
].map((make) => make(cluster));

let ok = false;
try {
  // The load's client stands for clients outside the lab: it talks to n1, which no fault touches.
  const client = await FaceshardClient.connect(cluster.natsUrl('n1'), { name: 'chaos-load' });
  try {
    const result = await runScenario(cluster, client, faults, {
      warmupMs: config.CHAOS_WARMUP_S * 1000,
      faultMs: config.CHAOS_FAULT_S * 1000,
      settleMs: config.CHAOS_SETTLE_S * 1000,
      recoveryTimeoutMs: config.CHAOS_RECOVERY_TIMEOUT_S * 1000,
      answerCheckBudget: config.CHAOS_ANSWER_CHECKS,
      load,
      log: (line) => console.error(`chaos: ${line}`),
    });
    ok = allInvariantsHold(result);
    const setup = [
      `Hosts: one network namespace each (veth pairs into a bridge, ${cluster.lab.subnet}.0/24): 3 nats-servers 2.9.10 in one JetStream cluster (the FACES stream and config bucket with replicas 3), ${COORDINATORS} coordinators, ${SHARDS} shards x ${REPLICAS} replicas, and the delay proxy (host px) through which coordinator c1 reaches NATS. No NATS authentication. Service defaults (SHARD_TIMEOUT_MS 2000, QUERY_TIMEOUT_MS 10000).`,
      `Load from the root namespace through n1 (never faulted: it stands for clients outside): ingest of ${load.ingestBatch} new faces every ${load.ingestPauseMs} ms, updates of ${load.updateBatch} acknowledged ids every ${load.updatePauseMs} ms, deletes of ${load.deleteBatch} every ${load.deletePauseMs} ms, ${load.queryLoops} query loops (${load.queryVectors} vectors, k=${load.k}, minSeq = every write acknowledged before the query left, timeout ${load.queryTimeoutMs} ms), each pausing ${load.queryPauseMs} ms.`,
      `Each fault lasts ${config.CHAOS_FAULT_S} s; then the harness restarts a killed process (as Kubernetes would) and nothing else; after a pause or partition the process must recover by itself (same pid, no restart). Then ${config.CHAOS_SETTLE_S} s of load before the next fault.`,
      "Reference rule for answers: an answer is exact when each vector's matches are the top k of some state the acknowledged writes allow at the time: an id written while the query was in flight, or whose write failed, may show any of its possible versions (or be absent); every other id shows its one version, at exactly that distance. So no returned id may be deleted or stale, and no settled id closer than the last match may be missing (in a partial answer: only ids of the shards that answered are held to that).",
      'After the run every vector any id ever had is queried (exact, k=3, minSeq of all acknowledged writes): a live id must be found at distance 0 from its latest vector and from no older one, a deleted id from none.',
      `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), shared with other work; node ${process.version}.`,
    ];
    const markdown = chaosMarkdown(result, {
      title: 'Chaos: kill -9, pauses, partitions, delay and loss (issue 22)',
      setup,
      command: process.env.npm_lifecycle_event === 'chaos' ? 'npm run chaos' : `node ${path.relative(process.cwd(), process.argv[1])}`,
      date: new Date().toISOString(),
    });
    mkdirSync(config.CHAOS_RESULTS_DIR, { recursive: true });
    writeFileSync(path.join(config.CHAOS_RESULTS_DIR, 'chaos.md'), markdown);
    writeFileSync(
      path.join(config.CHAOS_RESULTS_DIR, 'chaos.json'),
      `${JSON.stringify({ date: new Date().toISOString(), setup, load, config, result, invariantsHold: ok }, null, 2)}\n`,
    );
    for (const p of result.phases) {
      const a = p.answers;
      console.log(
        `${p.phase.padEnd(58)} complete ${a.exact} partial ${a.partial} refused ${a.refused} failed ${a.failed} wrong ${a.wrong} p99 ${p.latencyMs.p99} ms | ${phaseInvariants(p).text}`,
      );
    }
    console.log(
      `stored: ${result.stored.live} live, lost ${result.stored.lost.length}, stale ${result.stored.stale.length}, deleted ${result.stored.deleted} (back: ${result.stored.resurrected.length}); replicas agree: ${result.replicasAgree.ok}; ready at end: ${result.allReadyAtEnd}`,
    );
    console.log(ok ? 'all invariants hold' : 'INVARIANTS FAILED (see bench/results/chaos.md)');
  } finally {
    await client.close().catch(() => undefined);
  }
} finally {
  release();
  if (ok && config.CHAOS_KEEP_DATA === '0') rmSync(dataDir, { recursive: true, force: true });
  else console.error(`chaos: stores and logs kept in ${dataDir}`);
}
process.exit(ok ? 0 : 1);
