/**
 * Do replicas add throughput (issue 22)? Each shard replica process capped to
 * CORES_PER_REPLICA of a core by a cgroup CPU quota (as a small pod is); saturated
 * approximate top-10 q/s through faces.query with 1, 2, 3, 4 replicas per shard. Each
 * added replica joins while queries run (q/s in time buckets around it), then, once it has
 * trained its lists and snapshotted, the steady R-replica measurement. Records the
 * coordinator's, nats-server's and the load's CPU, per-replica answered legs and each
 * replica cgroup's throttling per run.
 * Writes bench/results/replicas.md and .json. Run (root): npm run build && node dist/bench/replicas/run.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { startLocalCluster, waitForCluster } from '../../libs/local/local-cluster/index.js';
import { supervisedService } from '../../libs/local/local-cluster/supervised-service.js';
import { connectAs, openCredentialsDir } from '../../libs/nats/nats-auth/index.js';
import { machineFacts, productCommit } from '../run-facts.js';
import { createLogger } from '../../libs/observability/logger.js';
import { DEFAULT_SUBJECT_PREFIX, subjectsFor } from '../../libs/protocol/subjects.js';
import { syntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';
import { CgroupCpuUnavailable, openCpuCgroups, type CpuGroup, type CpuThrottling } from '../cgroup-cpu.js';
import { ingestInSteps, waitForIdleIndexMaintenance, waitForSnapshots } from '../cluster.js';
import { percentile } from '../percentile.js';
import { cpuSeconds, natsServerPid } from './process-cpu.js';
import { replicaAnswers, type ReplicaAnswers } from './replica-metrics.js';
import { writeReport, type LiveAdd, type SteadyRun } from './report.js';
import { bucketRates, runTimedLoad, startTimedLoad, type TimedLoadRun } from './timed-load.js';

const SHARDS = 2;
const MAX_REPLICAS = 4;
const CORES_PER_REPLICA = Number(process.env.BENCH_REPLICA_CORES ?? 0.1);
const FACES = Number(process.env.BENCH_REPLICA_FACES ?? 200_000);
/**
 * Queries in flight per replica of a shard: the load grows with the replicas, as
 * saturated throughput needs (at a fixed 64, four replicas were bound by the client:
 * 1,125 q/s at 64 in flight, 1,684 at 128). The check at one replica and twice this
 * shows one replica is already saturated at it.
 */
const CONCURRENCY_PER_REPLICA = 64;
const concurrencyFor = (replicas: number) => CONCURRENCY_PER_REPLICA * replicas;
const STEADY_MS = 15_000;
const WARMUP_MS = 2_000;
const LIVE_BEFORE_MS = 10_000;
const LIVE_AFTER_MS = 20_000;
/** Replay at 0.1 core took 47 s for 100,000 faces a shard. */
const READY_TIMEOUT_MS = 300_000;
const BUCKET_MS = 2_000;
const OPTIONS = { k: 10, approximate: true, timeoutMs: 60_000 };

interface Replica {
  shard: number;
  name: string;
  pid: number;
  group: CpuGroup;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const loadavgAtStart = os.loadavg();
  let cg;
  try {
    cg = openCpuCgroups();
  } catch (err) {
    if (!(err instanceof CgroupCpuUnavailable)) throw err;
    console.error(`replicas bench SKIPPED: ${err.message}`);
    return;
  }
  const log = createLogger({ service: 'bench' }, 'warn');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'faceshard-replicas-'));
  const cluster = await startLocalCluster({ shards: SHARDS, replicas: 1, processes: SHARDS, natsPort: 0, dataDir, auth: true, log });
  const stopAll = async () => {
    await cluster.stop();
    cg.removeAll();
    await rm(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  process.once('exit', () => cg.removeAll()); // a crash skips the finally below; the supervisor kills the replicas on exit
  try {
    const nc = await connectAs({ servers: cluster.natsUrl }, cluster.admin);
    await waitForCluster(nc, SHARDS, 1, 60_000);
    await nc.close();
    const security = { creds: cluster.credentials?.writer };
    const client = await FaceshardClient.connect(cluster.natsUrl, { security });
    const credentials = openCredentialsDir(cluster.credentials!.dir, subjectsFor(DEFAULT_SUBJECT_PREFIX));

    const data = syntheticFaces({ identities: FACES / 5, photosPerIdentity: 5, seed: 7 });
    const t0 = performance.now();
    await ingestInSteps(
      client,
      data.ids.map((id, i) => ({ id, vector: data.vectors.subarray(i * DIMS, (i + 1) * DIMS) })),
    );
    console.log(`ingested ${FACES} faces in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await settle(client);

    const status = await client.status(2000);
    const coordinatorPid = status.coordinators[0].pid;
    const natsPid = natsServerPid(dataDir);
    const replicas: Replica[] = status.shards.map((s) => {
      const pid = s.replicas[0].pid;
      const name = `shard-${s.index}.0`;
      const group = cg.create(name, CORES_PER_REPLICA);
      group.add(pid);
      return { shard: s.index, name, pid, group };
    });

    const queries = syntheticFaces({ identities: 1000, photosPerIdentity: 1, seed: 999 }).vectors;
    const load = (durationMs: number, concurrency: number): TimedLoadRun => ({
      natsUrl: cluster.natsUrl,
      security,
      queries,
      dims: DIMS,
      concurrency,
      durationMs,
      options: OPTIONS,
    });

    const steady = async (count: number, concurrency = concurrencyFor(count)): Promise<SteadyRun> => {
      await runTimedLoad(load(WARMUP_MS, concurrency));
      const ports = await replicaPorts(client);
      const before = await snapshot(replicas, ports, coordinatorPid, natsPid);
      const run = await runTimedLoad(load(STEADY_MS, concurrency));
      const after = await snapshot(replicas, ports, coordinatorPid, natsPid);
      const seconds = (run.endedAt - run.startedAt) / 1000;
      const result: SteadyRun = {
        replicas: count,
        concurrency,
        seconds,
        answered: run.doneAt.length,
        qps: run.doneAt.length / seconds,
        p50Ms: percentile(run.latenciesMs, 50),
        p99Ms: percentile(run.latenciesMs, 99),
        partial: run.partial,
        errors: run.errors,
        coordinatorCores: (after.coordinator - before.coordinator) / seconds,
        natsCores: (after.nats - before.nats) / seconds,
        loadCores: (after.load - before.load) / seconds,
        perReplica: replicas.map((r) => ({
          name: r.name,
          legs: after.answers[r.name].legs - before.answers[r.name].legs,
          vectors: after.answers[r.name].vectors - before.answers[r.name].vectors,
          cores: (after.cpu[r.name] - before.cpu[r.name]) / seconds,
          throttledShare: throttledShare(before.throttling[r.name], after.throttling[r.name]),
          throttledMsPerSecond: (after.throttling[r.name].throttledUs - before.throttling[r.name].throttledUs) / 1000 / seconds,
        })),
      };
      console.log(
        `R=${count} c=${concurrency}: ${result.qps.toFixed(0)} q/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, partial ${run.partial}, coordinator ${result.coordinatorCores.toFixed(2)} cores, nats ${result.natsCores.toFixed(2)}`,
      );
      return result;
    };

    const steadyRuns: SteadyRun[] = [await steady(1)];
    // Before any replica is added: the one replica per shard at twice the load.
    const concurrencyCheck = await steady(1, concurrencyFor(1) * 2);
    const liveAdds: LiveAdd[] = [];
    for (let count = 2; count <= MAX_REPLICAS; count++) {
      // The load the new count saturates: before the add it is more than the replicas take.
      const live = startTimedLoad(load(LIVE_BEFORE_MS + READY_TIMEOUT_MS + LIVE_AFTER_MS, concurrencyFor(count)));
      await sleep(LIVE_BEFORE_MS);
      const spawnedAt = Date.now();
      const added = status.shards.map((s) => {
        const name = `shard-${s.index}.${count - 1}`;
        const SNAPSHOT_DIR = path.join(dataDir, 'snapshots', `shard-{shard}.${count - 1}`);
        const env = {
          NATS_URL: cluster.natsUrl,
          SUBJECT_PREFIX: DEFAULT_SUBJECT_PREFIX,
          SHARD_COUNT: String(SHARDS),
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
          NATS_CREDS: credentials.credsFile({ role: 'shard', shards: [s.index] }),
          SHARD_INDEX: String(s.index),
          SNAPSHOT_DIR,
        };
        const pid = cluster.supervisor.start(supervisedService(name, 'shard', env)).pid!;
        // Capped from its first instruction, replay included, as a pod is.
        const group = cg.create(name, CORES_PER_REPLICA);
        group.add(pid);
        return { shard: s.index, name, pid, group };
      });
      replicas.push(...added);
      const readyAt = await waitForReplicas(
        client,
        added.map((r) => r.pid),
        READY_TIMEOUT_MS,
      );
      await sleep(LIVE_AFTER_MS);
      live.stop();
      const run = await live.result;
      if (readyAt === undefined) throw new Error(`the replicas added for R=${count} were not ready after ${READY_TIMEOUT_MS / 1000} s`);
      const rates = bucketRates(run, BUCKET_MS);
      const add: LiveAdd = {
        from: count - 1,
        to: count,
        bucketMs: BUCKET_MS,
        spawnedAtS: (spawnedAt - run.startedAt) / 1000,
        readyAtS: readyAt === undefined ? null : (readyAt - run.startedAt) / 1000,
        rates,
        partial: run.partial,
        errors: run.errors,
      };
      liveAdds.push(add);
      console.log(
        `live add ${count - 1} -> ${count}: spawned at ${add.spawnedAtS.toFixed(1)} s, ready at ${add.readyAtS?.toFixed(1) ?? 'not within the run'} s; q/s per ${BUCKET_MS / 1000} s: ${rates.map((r) => r.toFixed(0)).join(' ')}`,
      );
      await settle(client);
      steadyRuns.push(await steady(count));
    }
    await client.close();

    await writeReport({
      machine: machineFacts(loadavgAtStart),
      commit: productCommit(),
      cgroup: { version: cg.version, root: cg.root },
      // Passed through to the coordinator (the supervisor adds a child's env on top of this process's).
      scattersInFlight: process.env.QUERY_SCATTERS_IN_FLIGHT ?? 'default',
      legRouting: process.env.LEG_ROUTING ?? 'default (least-outstanding)',
      scattersPerReplica: process.env.QUERY_SCATTERS_PER_REPLICA ?? 'default (true)',
      shards: SHARDS,
      faces: FACES,
      coresPerReplica: CORES_PER_REPLICA,
      concurrencyPerReplica: CONCURRENCY_PER_REPLICA,
      steadyMs: STEADY_MS,
      steadyRuns,
      concurrencyCheck,
      liveAdds,
    });
  } finally {
    await stopAll();
  }
}

/** Waits until every replica has trained its lists and snapshotted (index work would eat the replicas' quota). */
async function settle(client: FaceshardClient) {
  if (!(await waitForIdleIndexMaintenance(client, SHARDS))) throw new Error('index maintenance did not finish');
  if (!(await waitForSnapshots(client, SHARDS, 300_000))) throw new Error('snapshots did not finish');
}

async function replicaPorts(client: FaceshardClient): Promise<Map<number, number>> {
  const status = await client.status(2000);
  return new Map(status.shards.flatMap((s) => s.replicas).map((r) => [r.pid, r.httpPort ?? 0]));
}

/** The epoch ms at which every pid answers status as ready, undefined after timeoutMs. */
async function waitForReplicas(client: FaceshardClient, pids: number[], timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = new Set(
      (await client.status(1000)).shards
        .flatMap((s) => s.replicas)
        .filter((r) => r.ready)
        .map((r) => r.pid),
    );
    if (pids.every((pid) => ready.has(pid))) return Date.now();
    await sleep(250);
  }
  return undefined;
}

async function snapshot(replicas: Replica[], ports: Map<number, number>, coordinatorPid: number, natsPid: number) {
  const answers: Record<string, ReplicaAnswers> = {};
  const cpu: Record<string, number> = {};
  const throttling: Record<string, CpuThrottling> = {};
  for (const r of replicas) {
    answers[r.name] = await replicaAnswers(ports.get(r.pid)!);
    cpu[r.name] = cpuSeconds(r.pid);
    throttling[r.name] = r.group.throttling();
  }
  const usage = process.cpuUsage();
  return { answers, cpu, throttling, coordinator: cpuSeconds(coordinatorPid), nats: cpuSeconds(natsPid), load: (usage.user + usage.system) / 1e6 };
}

function throttledShare(before: CpuThrottling, after: CpuThrottling): number {
  const periods = after.periods - before.periods;
  return periods ? (after.throttledPeriods - before.throttledPeriods) / periods : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
