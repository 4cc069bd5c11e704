import type { FaceshardClient } from '../../libs/nats/client/index.js';
import { isClusterReady } from '../../libs/local/local-cluster/wait-ready.js';
import { percentile } from '../percentile.js';
import { checkAnswer } from './answer-check.js';
import type { ChaosCluster } from './cluster.js';
import type { Fault } from './faults.js';
import { checkStoredFaces, type StoredCheck } from './final-checks.js';
import { Ledger } from './ledger.js';
import { ChaosLoad, PhaseClock, type LoadOptions, type QueryOutcome, type WriteOutcome } from './load.js';

export interface ScenarioOptions {
  /** Load before the first fault (a baseline row). */
  warmupMs: number;
  faultMs: number;
  /** Load kept on after a fault's recovery, still booked to it. */
  settleMs: number;
  recoveryTimeoutMs: number;
  /** At most this many answers are checked against the brute-force reference (spread evenly over the run); 0: all. */
  answerCheckBudget: number;
  load: LoadOptions;
  log?: (line: string) => void;
}

export interface PhaseResult {
  phase: string;
  kind: Fault['kind'] | 'baseline';
  target?: string;
  restartedByHarness: boolean;
  /** ms from the fault's end until every process was ready and NATS discovery saw the whole cluster; undefined: never within the timeout. */
  recoveredMs?: number;
  /** For a pause or partition: the target kept its pid and the harness started nothing. */
  recoveredBySelf?: boolean;
  /** What showed the fault took hold, read halfway through it. */
  evidence?: string;
  /** JetStream's leaders just before the fault. */
  leaders?: string;
  /** Processes that exited without being killed by the harness during this phase (restarted, as Kubernetes would). */
  crashes: string[];
  answers: { exact: number; partial: number; refused: number; failed: number; wrong: number; checked: number };
  /** Answered queries' time from send to answer, ms. */
  latencyMs: { p50: number; p99: number; max: number };
  writes: { acknowledged: number; failed: number };
  /** A few examples: wrong answers' problems, failures' errors. */
  examples: string[];
}

export interface ChaosResult {
  phases: PhaseResult[];
  stored: StoredCheck;
  /** Replicas of each shard hold the same number of faces at the end. */
  replicasAgree: { ok: boolean; detail: string };
  /** Every process ready at the end, with no help after the last fault. */
  allReadyAtEnd: boolean;
  totals: { queries: number; answersChecked: number; writesAcknowledged: number; writesFailed: number; faces: number; wallSeconds: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process answers its probe, and NATS discovery sees every coordinator and shard replica ready. */
async function clusterRecovered(cluster: ChaosCluster, client: FaceshardClient): Promise<boolean> {
  const ready = await Promise.all([...cluster.processes.values()].map((p) => p.ready()));
  if (ready.some((r) => !r)) return false;
  const status = await client.status(500).catch(() => undefined);
  if (!status || status.coordinators.length < cluster.options.coordinators) return false;
  return isClusterReady(status, cluster.options.shards, cluster.options.replicas);
}

async function waitRecovered(cluster: ChaosCluster, client: FaceshardClient, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await clusterRecovered(cluster, client)) return Date.now() - started;
    await sleep(250);
  }
  return undefined;
}

/**
 * Kubernetes' part: a process that dies without the harness killing it is noted as a
 * crash (an invariant failure) and started again, so the run goes on.
 */
class CrashWatch {
  readonly crashes: Array<{ phase: string; name: string }> = [];
  expectedDown = new Set<string>();
  private timer: NodeJS.Timeout;

  constructor(cluster: ChaosCluster, phases: PhaseClock) {
    this.timer = setInterval(() => {
      for (const p of cluster.processes.values()) {
        if (p.running || this.expectedDown.has(p.name) || p.starts === 0) continue;
        this.crashes.push({ phase: phases.current, name: `${p.name} (exit ${p.child?.exitCode ?? p.child?.signalCode})` });
        p.start();
      }
    }, 500);
  }

  stop() {
    clearInterval(this.timer);
  }
}

export async function runScenario(cluster: ChaosCluster, client: FaceshardClient, faults: Fault[], options: ScenarioOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const ledger = new Ledger();
  const phases = new PhaseClock();
  const load = new ChaosLoad(client, ledger, phases, options.load);
  const watch = new CrashWatch(cluster, phases);
  const meta = new Map<string, Omit<PhaseResult, 'answers' | 'writes' | 'examples' | 'crashes' | 'latencyMs'>>();
  try {
    phases.current = 'baseline (no fault)';
    meta.set(phases.current, { phase: phases.current, kind: 'baseline', restartedByHarness: false });
    load.start();
    await sleep(options.warmupMs);

    for (const fault of faults) {
      await fault.prepare?.(cluster);
      const target = cluster.process(fault.target);
      const before = { pid: target.pid, starts: target.starts };
      const startsBefore = new Map([...cluster.processes.values()].map((p) => [p.name, p.starts]));
      const { meta: metaLeader, faces: facesLeader } = await cluster.jetStreamLeaders();
      const leaders = `meta leader ${metaLeader ?? '?'}, FACES leader ${facesLeader ?? '?'}`;
      phases.current = fault.name;
      log(`fault: ${fault.name} (${leaders})`);
      if (fault.restartedByHarness) watch.expectedDown.add(fault.target);
      await fault.inject(cluster);
      await sleep(options.faultMs / 2);
      const evidence = await fault.evidence(cluster).catch((err: Error) => `no evidence: ${err.message}`);
      log(`  ${evidence}`);
      await sleep(options.faultMs / 2);
      await fault.end(cluster);
      watch.expectedDown.delete(fault.target);
      const recoveredMs = await waitRecovered(cluster, client, options.recoveryTimeoutMs);
      const harnessStarted = [...cluster.processes.values()].some(
        (p) => p.starts !== startsBefore.get(p.name) && !(fault.restartedByHarness && p.name === fault.target),
      );
      const recoveredBySelf = fault.restartedByHarness
        ? undefined
        : recoveredMs !== undefined && target.pid === before.pid && target.starts === before.starts && !harnessStarted;
      meta.set(fault.name, {
        phase: fault.name,
        kind: fault.kind,
        target: fault.target,
        evidence,
        leaders,
        restartedByHarness: fault.restartedByHarness,
        recoveredMs,
        recoveredBySelf,
      });
      log(`  recovered ${recoveredMs === undefined ? 'NOT within the timeout' : `after ${recoveredMs} ms`}`);
      await sleep(options.settleMs);
    }
    phases.current = 'end';
    await load.stop();
    log('load stopped; checking');
    const allReadyAtEnd = (await waitRecovered(cluster, client, options.recoveryTimeoutMs)) !== undefined && watch.crashes.every((c) => c.phase !== 'end');
    const stored = await checkStoredFaces(client, ledger);
    const replicasAgree = await waitReplicasAgree(client, cluster.options.shards, cluster.options.replicas, 30_000);
    const phaseResults = tally(ledger, load.queries, load.writes, meta, watch.crashes, cluster.options.shards, options.answerCheckBudget);
    return {
      phases: phaseResults,
      stored,
      replicasAgree,
      allReadyAtEnd,
      totals: {
        queries: load.queries.length,
        answersChecked: phaseResults.reduce((n, p) => n + p.answers.checked, 0),
        writesAcknowledged: load.writes.filter((w) => w.ok).length,
        writesFailed: load.writes.filter((w) => !w.ok).length,
        faces: ledger.histories.size,
        wallSeconds: Math.round((Date.now() - started) / 1000),
      },
    };
  } finally {
    watch.stop();
    await load.stop();
  }
}

/** Both replicas of each shard report the same count and applied sequence (waits a little: one may still be catching up). */
async function waitReplicasAgree(client: FaceshardClient, shards: number, replicas: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const started = Date.now();
  let detail = '';
  while (Date.now() - started < timeoutMs) {
    const status = await client.status(500).catch(() => undefined);
    if (status) {
      detail = status.shards.map((s) => `shard ${s.index}: ${s.replicas.map((r) => `${r.count} faces @${r.appliedSeq}`).join(' / ')}`).join('; ');
      const ok =
        status.shards.length === shards &&
        status.shards.every(
          (s) => s.replicas.length === replicas && s.replicas.every((r) => r.count === s.replicas[0].count && r.appliedSeq === s.replicas[0].appliedSeq),
        );
      if (ok) return { ok, detail };
    }
    await sleep(500);
  }
  return { ok: false, detail };
}

function tally(
  ledger: Ledger,
  queries: QueryOutcome[],
  writes: WriteOutcome[],
  meta: Map<string, Omit<PhaseResult, 'answers' | 'writes' | 'examples' | 'crashes' | 'latencyMs'>>,
  crashes: Array<{ phase: string; name: string }>,
  shardCount: number,
  budget: number,
): PhaseResult[] {
  const answered = queries.filter((q) => q.outcome === 'answered').length;
  const every = budget > 0 ? Math.max(1, Math.ceil(answered / budget)) : 1;
  const rows = new Map<string, PhaseResult>();
  for (const [phase, m] of meta) {
    rows.set(phase, {
      ...m,
      crashes: crashes.filter((c) => c.phase === phase).map((c) => c.name),
      answers: { exact: 0, partial: 0, refused: 0, failed: 0, wrong: 0, checked: 0 },
      latencyMs: { p50: NaN, p99: NaN, max: NaN },
      writes: { acknowledged: 0, failed: 0 },
      examples: [],
    });
  }
  const row = (phase: string) => rows.get(phase) ?? rows.get([...rows.keys()].at(-1)!)!;
  let n = 0;
  for (const q of queries) {
    const r = row(q.phase);
    if (q.outcome !== 'answered') {
      r.answers[q.outcome]++;
      if (r.examples.length < 3) r.examples.push(`${q.outcome}: ${q.error}`);
      continue;
    }
    // Every answer of a fault phase is checked when the budget allows; otherwise evenly spread ones.
    const check = n++ % every === 0;
    const problems = check ? checkAnswer(ledger, q.answer, shardCount) : [];
    if (check) r.answers.checked++;
    if (problems.length > 0) {
      r.answers.wrong++;
      if (r.examples.length < 5) r.examples.push(`${q.answer.partial ? 'partial' : 'complete'} answer wrong: ${problems.slice(0, 2).join('; ')}`);
    } else if (q.answer.partial) {
      r.answers.partial++;
      if (r.examples.length < 5) r.examples.push(`partial (${Math.round(q.answer.answeredAt - q.answer.sentAt)} ms): ${q.answer.missingReasons.join('; ')}`);
    } else r.answers.exact++;
  }
  for (const w of writes) {
    const r = row(w.phase);
    if (w.ok) r.writes.acknowledged += w.faces;
    else {
      r.writes.failed += w.faces;
      if (r.examples.length < 5) r.examples.push(`${w.kind} failed: ${w.error}`);
    }
  }
  for (const r of rows.values()) {
    const took = queries
      .filter((q) => row(q.phase) === r && q.outcome === 'answered')
      .map((q) => (q.outcome === 'answered' ? q.answer.answeredAt - q.answer.sentAt : 0));
    r.latencyMs = { p50: Math.round(percentile(took, 50)), p99: Math.round(percentile(took, 99)), max: Math.round(Math.max(...took)) };
  }
  return [...rows.values()];
}
