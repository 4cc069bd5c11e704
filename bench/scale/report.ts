/** scale.md: the table of sizes, the growth exponents between them, the targets and the notes. */
import type { MachineFacts } from '../run-facts.js';
import { growthExponent } from './growth.js';
import { approximateAtTarget, type SizeResult } from './result.js';

const RAW_BYTES_PER_FACE = 128 * 4;

export interface ScaleRun {
  commit: string;
  machine: MachineFacts & { cpu?: string; minutes: number };
  settings: {
    shards: number;
    queries: number;
    k: number;
    efforts: { start: number; lower: readonly number[]; higher: readonly number[] };
    targetRecall: number;
    approximateLimitMs: number;
    exactLimitMs: number;
  };
  sizes: SizeResult[];
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const count = (n: number) => n.toLocaleString('en-US');
const mib = (bytes: number) => fmt(bytes / 2 ** 20);
const latency = (t: { p50Ms: number; p99Ms: number } | undefined) => (t ? `${fmt(t.p50Ms, 2)} / ${fmt(t.p99Ms, 2)}` : 'n/a');

function sizeRow(r: SizeResult, targetRecall: number): string {
  const first = r.approximate[0];
  const atTarget = approximateAtTarget(r.approximate, targetRecall);
  const reached = atTarget.recall1 >= targetRecall ? `effort ${atTarget.effort}` : `not reached (effort ${atTarget.effort})`;
  return [
    count(r.faces),
    `${fmt(r.ingest.seconds, 1)} (${fmt(r.ingest.facesPerSecond)}/s)`,
    fmt(r.searchableSeconds, 1),
    fmt(r.settleSeconds, 1),
    fmt(first.busy.qps),
    latency(first.single),
    fmt(first.recall1, 4),
    `${reached}: ${fmt(atTarget.busy.qps)} q/s, ${latency(atTarget.single)} ms, ${fmt(atTarget.recall1, 4)}`,
    fmt(r.exact.busy.qps, 1),
    latency(r.exact.single),
    `${mib(r.memory.rssBytes)} MiB, ${fmt(r.memory.rssBytes / r.faces)} B, ${fmt(r.memory.rssBytes / (r.faces * RAW_BYTES_PER_FACE), 2)}×`,
    fmt(r.disk.streamBytes / r.faces),
    fmt(r.disk.snapshotBytes / r.faces),
    fmt(r.restart.readySeconds, 1),
  ].join(' | ');
}

function table(run: ScaleRun): string[] {
  return [
    '| faces | ingest s (rate) | searchable s | in approximate lists s | approximate effort 1 q/s (32) | p50 / p99 ms (1) | recall@1 | lowest effort with recall@1 ≥ 0.99: q/s (32), p50 / p99 (1), recall@1 | exact q/s (8) | exact p50 / p99 ms (1) | shard processes resident (per face, × raw float32) | stream B/face | snapshots B/face | restart-to-ready s |',
    '|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|',
    ...run.sizes.map((r) => `| ${sizeRow(r, run.settings.targetRecall)} |`),
  ];
}

/** Each cost, as a function of a size's result; per query = 1 / (queries/s). */
const COSTS: Array<{ name: string; of: (r: SizeResult, targetRecall: number) => number | undefined }> = [
  { name: 'approximate effort 1, time a query at 32', of: (r) => 1 / r.approximate[0].busy.qps },
  { name: 'approximate effort 1, p50 at 1', of: (r) => r.approximate[0].single?.p50Ms },
  { name: 'approximate at recall@1 ≥ 0.99, time a query at 32', of: (r, t) => 1 / approximateAtTarget(r.approximate, t).busy.qps },
  { name: 'exact, time a query at 8', of: (r) => 1 / r.exact.busy.qps },
  { name: 'exact, p50 at 1', of: (r) => r.exact.single.p50Ms },
  { name: 'ingest time', of: (r) => r.ingest.seconds },
  { name: 'first write to all in approximate lists', of: (r) => r.settleSeconds },
  { name: 'memory per face', of: (r) => r.memory.rssBytes / r.faces },
  { name: 'stream disk per face', of: (r) => r.disk.streamBytes / r.faces },
  { name: 'snapshot disk per face', of: (r) => r.disk.snapshotBytes / r.faces },
  { name: 'restart-to-ready', of: (r) => r.restart.readySeconds },
];

function exponents(run: ScaleRun): string[] {
  const pairs = run.sizes.slice(1).map((r, i) => [run.sizes[i], r] as const);
  if (pairs.length === 0) return ['(one size measured: no exponent)'];
  return [
    `| cost | ${pairs.map(([a, b]) => `${count(a.faces)} → ${count(b.faces)}`).join(' | ')} |`,
    `|---|${pairs.map(() => '---:').join('|')}|`,
    ...COSTS.map(
      (c) =>
        `| ${c.name} | ${pairs.map(([a, b]) => fmt(growthExponent(a.faces, c.of(a, run.settings.targetRecall), b.faces, c.of(b, run.settings.targetRecall)), 2)).join(' | ')} |`,
    ),
  ];
}

function verdict(value: number | undefined, target: number, higherIsBetter: boolean): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  if (higherIsBetter ? value >= target : value <= target) return 'met';
  return higherIsBetter ? `missed: ${(target / value).toFixed(2)}× short` : `missed: ${(value / target).toFixed(2)}× over`;
}

/** Issue 24's targets for ten million faces, checked at the largest size measured. */
function targets(run: ScaleRun): string[] {
  const r = run.sizes[run.sizes.length - 1];
  const atTarget = approximateAtTarget(r.approximate, run.settings.targetRecall);
  const approxQps = atTarget.recall1 >= run.settings.targetRecall ? atTarget.busy.qps : undefined;
  const ratio = r.memory.rssBytes / (r.faces * RAW_BYTES_PER_FACE);
  return [
    `| target (issue 24, for 10,000,000 faces), at ${count(r.faces)} faces | measured | verdict |`,
    '|---|---|---|',
    `| in the approximate lists ≤ 120 s after the first write | ${fmt(r.settleSeconds, 1)} s | ${verdict(r.settleSeconds, 120, false)} |`,
    `| approximate ≥ 500 queries/s at recall@1 ≥ 0.99 (concurrency 32) | ${approxQps === undefined ? `recall@1 ${fmt(atTarget.recall1, 4)} at effort ${atTarget.effort}` : `${fmt(approxQps)} q/s at effort ${atTarget.effort}`} | ${verdict(approxQps, 500, true)} |`,
    `| shard processes resident ≤ 1.3× the raw float32 vectors | ${fmt(ratio, 2)}× | ${verdict(ratio, 1.3, false)} |`,
    `| restart-to-ready from snapshots ≤ 30 s | ${fmt(r.restart.readySeconds, 1)} s | ${verdict(r.restart.readySeconds, 30, false)} |`,
    exactAgainstFaiss(r),
  ];
}

/** Exact through the cluster (concurrency 8) ≥ FAISS IndexFlatL2 batched on the same files. */
function exactAgainstFaiss(r: SizeResult): string {
  const faiss = r.faissFlat;
  if (!faiss || 'skipped' in faiss) return `| exact ≥ FAISS IndexFlatL2 batched (2 threads) | FAISS not run${faiss ? `: ${faiss.skipped}` : ''} | n/a |`;
  const ratio = r.exact.busy.qps / faiss.qps;
  return `| exact ≥ FAISS IndexFlatL2 batched (2 threads) | ${fmt(r.exact.busy.qps, 1)} q/s at 8 ÷ ${fmt(faiss.qps, 1)} q/s = ${fmt(ratio, 2)}× | ${verdict(ratio, 1, true)} |`;
}

function notes(r: SizeResult): string {
  const atTarget = r.approximate.map(
    (a) =>
      `effort ${a.effort}: recall@1 ${fmt(a.recall1, 4)} (not enrolled ${fmt(a.recall1NotEnrolled, 4)}), ${fmt(a.busy.qps)} q/s at 32 over ${count(a.busy.queries)} queries${a.busy.partial ? `, ${a.busy.partial} partial` : ''}`,
  );
  return [
    `**${count(r.faces)} faces**:`,
    `synth ${fmt(r.synth.seconds, 1)} s${r.synth.maxRssBytes ? ` (peak ${mib(r.synth.maxRssBytes)} MiB)` : ''};`,
    `ingest of ${count(r.ingest.accepted)} faces (${r.ingest.rowErrors} row errors), ${count(r.ingest.readBatch)} rows a request;`,
    r.listedFaces === 0
      ? 'no approximate lists (every shard under their minimum size): approximate queries scan every face;'
      : `${count(r.listedFaces)} faces in approximate lists;`,
    `snapshots of every shard, lists included, ${fmt(r.snapshotSeconds, 1)} s after the first write (the slowest took ${fmt(r.snapshotWriteSeconds, 1)} s to write);`,
    `${r.memory.shardProcesses} shard processes, proportional memory ${mib(r.memory.pssBytes)} MiB (${fmt(r.memory.pssBytes / (r.faces * RAW_BYTES_PER_FACE), 2)}×);`,
    `stream ${mib(r.disk.streamBytes)} MiB, snapshots ${mib(r.disk.snapshotBytes)} MiB;`,
    `exact truth pass (${count(r.queries)} queries at 8) ${fmt(r.truthSeconds, 1)} s; exact runs ${count(r.exact.busy.queries)} queries at 8, ${count(r.exact.single.queries)} at 1;`,
    `${atTarget.join('; ')};`,
    `restart: stop (final snapshots) ${fmt(r.restart.stopSeconds, 1)} s, ready ${fmt(r.restart.readySeconds, 1)} s, all in approximate lists ${fmt(r.restart.listedSeconds, 1)} s after the start, recall@1 right after ${fmt(r.restart.recall1, 4)}${r.restart.partialQueries ? ` (${r.restart.partialQueries} queries answered partial)` : ''};`,
    `bench process peak resident ${mib(r.benchMaxRssBytes)} MiB;`,
    r.faissFlat && 'qps' in r.faissFlat
      ? `FAISS IndexFlatL2 on the same files: add ${fmt(r.faissFlat.addSeconds, 1)} s, ${count(r.faissFlat.queries)} queries in one batched search ${fmt(r.faissFlat.seconds, 1)} s (${fmt(r.faissFlat.qps, 1)} q/s).`
      : `FAISS IndexFlatL2 not run${r.faissFlat ? `: ${r.faissFlat.skipped}` : ''}.`,
  ].join(' ');
}

export function scaleReport(run: ScaleRun): string {
  const m = run.machine;
  const s = run.settings;
  return [
    '# Scale: how cost grows with the number of faces (issue 24, targets 3 and 4)',
    '',
    `Commit ${run.commit}. Machine: ${m.cores} cores (${m.cpu ?? 'unknown CPU'}), Node ${m.node}, nats-server ${m.natsServer ?? 'unknown'}; load average ${m.loadavgAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${m.loadavg.map((l) => l.toFixed(2)).join(' ')} at the end. Whole run ${m.minutes.toFixed(1)} min.`,
    '',
    `Method (\`node --expose-gc dist/bench/scale/run.js\`, bench/scale/): for each size a fresh local ${s.shards}-shard cluster as \`faceshard up\` starts it here (one shard process per core). The data are files, as a user brings them: \`faceshard synth --enrolled-share 0.7\` writes faces.npy, ids.txt and ${count(s.queries)} queries (30% of people not enrolled); they are ingested by streaming the .npy and ids file through the client as \`faceshard ingest\` does (readFaceFile, 1,000 rows a request, 4 requests in flight), so the bench process never holds the faces. "Searchable" and "in approximate lists" count from the first write (status polled about every 0.75 s). Memory is the sum of the shard processes' resident sets once every shard's last snapshot holds all it holds, lists included (read from the shard's log); disk is \`du\` of the JetStream store dir and of the snapshots dir. Recall@1 is against exact search through the cluster itself on the same queries (k = ${s.k}; exact over the values the shards store, each rounded to a multiple of 2^-14, not over the float32 file). Approximate: effort ${s.efforts.start} first; when it reaches recall@1 ≥ ${s.targetRecall}, effort ${s.efforts.lower.join(', then ')} while each still does (less work a query), else effort ${s.efforts.higher.join(', then ')} until one does; queries/s at concurrency 32 and exact at 8, p50 / p99 at concurrency 1; each run after a warm-up, at most max(3,000, 200 × concurrency) queries or ${s.approximateLimitMs / 1000} s (exact ${s.exactLimitMs / 1000} s). Restart: the whole cluster stopped after the queries and started again on the same data dir, timed until every shard has a ready replica (nats-server recovering the stream included).`,
    '',
    ...table(run),
    '',
    '## How each cost grows: exponent e in cost ∝ nᵉ between consecutive sizes',
    '',
    'log(cost₂ / cost₁) / log(n₂ / n₁); 0 = flat, 0.5 = √n, 1 = linear. Per-face costs (memory, disk) should stay near 0; a full scan (exact) near 1.',
    '',
    ...exponents(run),
    '',
    ...targets(run),
    '',
    ...run.sizes.map((r) => `- ${notes(r)}`),
    '',
  ].join('\n');
}
