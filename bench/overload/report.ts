/** bench/results/<name>.md and .json from an overload run: one table per part, each target next to its number. */
import { writeFile } from 'node:fs/promises';
import type { HostJitter } from '../host-jitter.js';
import type { MachineFacts } from '../run-facts.js';
import type { OverloadBenchConfig } from './config.js';
import type { ProbeSummary } from './health-probe.js';
import { CONFIRMING_STEPS, type LevelSummary } from './outcomes.js';
import type { PauseResult } from './pause-analysis.js';

export interface SearchStep {
  concurrency: number;
  /** Complete answers a second. */
  qps: number;
  summary: LevelSummary;
}

export interface LevelResult {
  /** Of C_sat. */
  multiple: number;
  concurrency: number;
  summary: LevelSummary;
  health: ProbeSummary[];
  otherSamples: string[];
}

export interface OverloadResult {
  machine: MachineFacts & { jitterAtStart: HostJitter; jitterAtEnd: HostJitter };
  commit: string;
  cgroup: { version: string; root: string };
  config: OverloadBenchConfig;
  shards: number;
  query: { k: number; approximate: boolean };
  steps: SearchStep[];
  /** The part of each search step not counted. */
  searchWarmupMs: number;
  /** What the search found. */
  cSatFound: number;
  /** What the levels and the pause ran at: cSatFound unless BENCH_OVERLOAD_C_SAT was set. */
  cSat: number;
  levels: LevelResult[];
  pause: PauseResult;
}

/** Targets from issue 22. */
export const TARGETS = { goodputShareAt8x: 0.9, refusalP99Ms: 50, healthP99Ms: 1000 } as const;

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const met = (ok: boolean) => (ok ? 'met' : 'missed');

export function peakGoodput(result: OverloadResult): number {
  return Math.max(...result.steps.map((s) => s.qps), ...result.levels.map((l) => l.summary.goodput));
}

function searchTable(result: OverloadResult): string[] {
  return [
    '| concurrency | complete answers/s | rise over the previous | partial | busy | timeouts | other |',
    '|---|---|---|---|---|---|---|',
    ...result.steps.map(
      (s, i) =>
        `| ${s.concurrency} | ${fmt(s.qps)} | ${i ? `${fmt((s.qps / result.steps[i - 1].qps - 1) * 100)}%` : '-'} | ${s.summary.partial} | ${s.summary.busy} | ${s.summary.timeouts} | ${s.summary.other} |`,
    ),
  ];
}

function levelTable(result: OverloadResult): string[] {
  const peak = peakGoodput(result);
  const rows = result.levels.map((l) => {
    const s = l.summary;
    const share = s.goodput / peak;
    const shareCell = `${fmt(share * 100)}%${l.multiple === 8 ? ` (≥ 90%: ${met(share >= TARGETS.goodputShareAt8x)})` : ''}`;
    const partialCell = `${s.partial}${l.multiple > 1 ? ` (0: ${met(s.partial === 0)})` : ''}`;
    const refusalCell = s.busy
      ? `${fmt(s.refusalP50Ms, 1)} / ${fmt(s.refusalP99Ms, 1)} (< 50: ${met(s.refusalP99Ms < TARGETS.refusalP99Ms)})`
      : '- (none refused)';
    const other = s.other
      ? `${s.other} (${Object.entries(s.otherCodes)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')})`
      : '0';
    return `| ${l.concurrency} | ${l.multiple}x | ${fmt(s.goodput)} | ${shareCell} | ${partialCell} | ${s.busy} | ${s.timeouts} | ${other} | ${fmt(s.acceptedP50Ms, 1)} / ${fmt(s.acceptedP99Ms, 1)} / ${fmt(s.acceptedMaxMs, 0)} | ${refusalCell} |`;
  });
  return [
    '| concurrency | of C_sat | goodput (complete/s) | of peak | partial | busy refusals | timeouts | other errors | accepted p50 / p99 / max ms | refusal p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

function healthRows(label: string, health: ProbeSummary[], expectedDown?: string): string[] {
  return health.map((h) => {
    const verdict = h.name === expectedDown ? 'paused: not counted' : met(h.p99Ms < TARGETS.healthP99Ms && h.failures === 0);
    return `| ${label} | ${h.name} | ${h.probes} | ${h.failures} | ${fmt(h.p50Ms, 1)} | ${fmt(h.p99Ms, 1)} | ${fmt(h.maxMs, 1)} | ${verdict} |`;
  });
}

function healthTable(result: OverloadResult): string[] {
  return [
    '| load | process | probes | failed (3 s timeout or not 200) | p50 ms | p99 ms | max ms | p99 < 1 s, none failed |',
    '|---|---|---|---|---|---|---|---|',
    ...result.levels.flatMap((l) => healthRows(`${l.multiple}x (c=${l.concurrency})`, l.health)),
    ...healthRows(`pause (c=${result.pause.concurrency})`, result.pause.health, result.pause.pausedReplica),
  ];
}

function pauseTables(p: PauseResult): string[] {
  const row = (label: string, s: LevelSummary) =>
    `| ${label} | ${fmt(s.seconds, 1)} | ${s.complete} | ${fmt(s.goodput)} | ${s.partial} | ${s.busy} | ${s.timeouts} | ${s.other} | ${fmt(s.acceptedP50Ms, 1)} / ${fmt(s.acceptedP99Ms, 1)} / ${fmt(s.acceptedMaxMs, 0)} |`;
  const failedInPause = p.pause.timeouts + p.pause.other;
  const failed = p.whole.timeouts + p.whole.other;
  const bucketRows = p.buckets.complete.map((c, b) => {
    const t = (b * p.buckets.bucketMs) / 1000;
    const mark =
      b * p.buckets.bucketMs <= p.stoppedAtMs && p.stoppedAtMs < (b + 1) * p.buckets.bucketMs
        ? ' SIGSTOP'
        : b * p.buckets.bucketMs <= p.resumedAtMs && p.resumedAtMs < (b + 1) * p.buckets.bucketMs
          ? ' SIGCONT'
          : '';
    const perSecond = 1000 / p.buckets.bucketMs;
    return `| ${t.toFixed(2)}${mark} | ${fmt(c * perSecond)} | ${p.buckets.partial[b]} | ${p.buckets.busy[b]} | ${p.buckets.failed[b]} | ${fmt(p.pausedRate[b])} | ${fmt(p.twinRate[b])} |`;
  });
  return [
    `Load at C_sat = ${p.concurrency} on 2 shards x 2 replicas; ${p.pausedReplica} stopped at ${fmt(p.stoppedAtMs / 1000, 2)} s for ${fmt(p.pauseMs / 1000, 1)} s (SIGCONT at ${fmt(p.resumedAtMs / 1000, 2)} s); its twin ${p.twinReplica}. The coordinator's leg timeout (SHARD_TIMEOUT_MS): ${p.legTimeoutMs} ms.`,
    '',
    '| window | s | complete | complete/s | partial | busy | timeouts | other errors | accepted p50 / p99 / max ms |',
    '|---|---|---|---|---|---|---|---|---|',
    row('before the pause (from 1 s)', p.before),
    row(`pause + one leg timeout after SIGCONT`, p.pause),
    row('after', p.after),
    row('whole run', p.whole),
    '',
    `- From SIGSTOP to one leg timeout after SIGCONT: failed answers (timeouts + other errors) ${failedInPause} (target 0: ${met(failedInPause === 0)}), partial ${p.pause.partial} (target 0: ${met(p.pause.partial === 0)}), refused busy ${p.pause.busy}. Whole run: failed ${failed}, partial ${p.whole.partial}, busy ${p.whole.busy}.`,
    `- Shard 0 answered ${fmt(p.shardRateBefore)} query vectors/s before the pause (both replicas). The twin carried ≥ 90% of that (over a 1 s window: answers come in bursts) ${p.takeoverMs === null ? 'in no 1 s window of the pause' : `${fmt(p.takeoverMs)} ms after SIGSTOP`} (target within one leg timeout, ${p.legTimeoutMs} ms: ${met(p.takeoverMs !== null && p.takeoverMs <= p.legTimeoutMs)}).`,
    `- The clients got ${fmt(p.completeBefore)} complete answers/s before the pause; in ${p.lowGoodputWindows} of the ${p.pauseWindows} consecutive 1 s windows wholly within the pause they got less than 90% of that.`,
    ...(p.otherSamples.length ? [`- Other errors seen: ${p.otherSamples.join('; ')}`] : []),
    '',
    `Per ${p.buckets.bucketMs} ms (time from the load's start): the clients' complete answers/s and counts of partial, busy and failed answers; query vectors/s answered by each replica of shard 0 (from their /metrics, polled every ${p.buckets.bucketMs} ms; a paused process answers no poll, and what it answered after resuming lands in the bucket it was seen in).`,
    '',
    `| t s | complete/s | partial | busy | failed | ${p.pausedReplica} (paused) q/s | ${p.twinReplica} (twin) q/s |`,
    '|---|---|---|---|---|---|---|',
    ...bucketRows,
  ];
}

export function overloadMarkdown(result: OverloadResult, title: string): string {
  const m = result.machine;
  const c = result.config;
  const level8 = result.levels.find((l) => l.multiple === 8);
  return [
    `# ${title}`,
    '',
    `Machine: ${m.cores} cores, load average ${m.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${m.loadavg.map((x) => x.toFixed(2)).join(' ')} at the end (other engineers' work shared the machine); host jitter (bench/host-jitter.ts, p50 / p99 of ~1.5 ms of arithmetic) ${fmt(m.jitterAtStart.p50Ms, 2)} / ${fmt(m.jitterAtStart.p99Ms, 2)} ms at the start, ${fmt(m.jitterAtEnd.p50Ms, 2)} / ${fmt(m.jitterAtEnd.p99Ms, 2)} ms at the end. Node ${m.node}, nats-server ${m.natsServer ?? 'unknown'}; product at ${result.commit}.`,
    `Cluster: ${result.shards} shards, ${fmt(c.BENCH_OVERLOAD_FACES)} synthetic faces, one shard per replica process, authentication on, each replica process capped to ${c.BENCH_OVERLOAD_REPLICA_CORES} core by a cgroup CPU quota (${result.cgroup.version}) as a small pod is; coordinator, nats-server and the load client uncapped. Queries: one vector each, ${result.query.approximate ? 'approximate' : 'exact'} top-${result.query.k}, client timeout (and deadline header) ${c.BENCH_OVERLOAD_TIMEOUT_MS} ms; a client refused \`busy\` waits the retry hint, at most ${c.BENCH_OVERLOAD_RETRY_CAP_MS} ms, before its next query. Each level ${c.BENCH_OVERLOAD_LEVEL_MS / 1000} s, its first ${c.BENCH_OVERLOAD_WARMUP_MS / 1000} s not counted.`,
    '',
    '## 1. Goodput vs concurrency',
    '',
    `The saturating concurrency, doubling from 1 (${c.BENCH_OVERLOAD_PROBE_MS / 1000} s a step, its first ${result.searchWarmupMs / 1000} s not counted, after a 3 s warm-up at 8): C_sat = ${result.cSatFound}, the lowest concurrency that no higher one beat by more than 10% in complete answers/s (the search stops ${CONFIRMING_STEPS} doublings past it, or at ${result.steps[result.steps.length - 1].concurrency}).${result.cSat === result.cSatFound ? '' : ` The levels below ran at multiples of ${result.cSat} instead (BENCH_OVERLOAD_C_SAT), to compare with another build at the same concurrency.`}`,
    '',
    ...searchTable(result),
    '',
    `Peak goodput (the highest of all runs above and below): ${fmt(peakGoodput(result))} complete answers/s.${level8 ? ` At 8x: ${fmt((level8.summary.goodput / peakGoodput(result)) * 100)}% of it.` : ''}`,
    '',
    ...levelTable(result),
    '',
    'Targets (issue 22): at 8x C_sat goodput ≥ 90% of the peak, no partial answer caused by load alone (checked above C_sat), accepted p99 bounded (the client timeout bounds it here; the table states it), refusals answered in < 50 ms (p99).',
    ...result.levels.flatMap((l) => (l.otherSamples.length ? [`- ${l.multiple}x other errors seen: ${l.otherSamples.join('; ')}`] : [])),
    '',
    '## 2. /healthz under load',
    '',
    'Each process polled one request at a time every 150 ms with a 3 s timeout, as a liveness probe would, during every level above and the pause below.',
    '',
    ...healthTable(result),
    '',
    '## 3. A paused replica',
    '',
    ...pauseTables(result.pause),
    '',
  ].join('\n');
}

export async function writeOverloadReport(name: string, result: OverloadResult, title = 'Overload (issue 22 targets)'): Promise<void> {
  const markdown = overloadMarkdown(result, title);
  console.log(markdown);
  await writeFile(`bench/results/${name}.md`, markdown);
  await writeFile(`bench/results/${name}.json`, JSON.stringify(result, null, 2) + '\n');
}
