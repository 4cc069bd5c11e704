/**
 * Which partition cuts a shard's rows into the lists approximate search reads (issue 24,
 * "a KD-tree that earns its place"): today's two-level k-means lists against a KD-tree
 * over the 16 leading principal axes (libs/index/ann/kd-partition.ts), one FaceIndex
 * each in this process, the same data and queries, everything else equal (int16 rows,
 * pre-filter, 4-bit shortlist).
 *
 * Per partition: the time to build the lists once a bulk load ends (`resumeMaintenance`:
 * train, assign every row, sort by list), and per effort, queries/s one query at a time
 * with recall@1 and recall@10 against the float32 truth; exact search too (it reads the
 * nearest lists first). The decision rule (issue 24): the tree becomes the default
 * partition if it reaches recall@1 >= 0.99 at >= 90% of the k-means lists' queries/s,
 * or builds much faster at equal speed.
 *
 * Env: BENCH_PARTITION_SIZES (default "1000000"). Writes bench/results/partition.md and .json.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IvfQuantizer, KdPartition, type PartitionKind } from '../../libs/index/ann/index.js';
import { FaceIndex, type Neighbor } from '../../libs/index/face-index/index.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';
import { benchmarkData, type BenchmarkData } from '../../libs/synthetic/face-model.js';
import { machineFacts, productCommit } from '../run-facts.js';
import { float32Truth } from './float32-truth.js';

const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();
const SIZES = (process.env.BENCH_PARTITION_SIZES ?? '1000000').split(',').map(Number);
const QUERIES = 1000;
const K = 10;
const EFFORTS = [0.25, 0.5, 1, 2, 4];
const PARTITIONS: PartitionKind[] = ['kmeans', 'kdtree'];

interface PartitionRow {
  faces: number;
  partition: PartitionKind;
  mode: string;
  effort?: number;
  qps: number;
  recall1: number;
  recall10: number;
  listsBuildSeconds: number;
  /** The partition alone: trained on the float32 vectors and every row assigned (no sort, no pre-filter). */
  partitionSeconds: number;
  lists: number;
}

/** Seconds to train `partition` with `lists` lists on the vectors and assign every row. */
function partitionAlone(data: BenchmarkData, partition: PartitionKind, lists: number): number {
  const faces = data.ids.length;
  const t = performance.now();
  const trained = partition === 'kdtree' ? KdPartition.train(data.vectors, faces, DIMS, { lists }) : IvfQuantizer.train(data.vectors, faces, DIMS, { lists });
  trained.assign(data.vectors, 0, faces, new Int32Array(faces));
  return (performance.now() - t) / 1000;
}

function recallAt(got: Neighbor[][], truth: Neighbor[][], k: number): number {
  let sum = 0;
  got.forEach((list, q) => {
    const want = new Set(truth[q].slice(0, k).map((n) => n.id));
    sum += list.slice(0, k).filter((n) => want.has(n.id)).length / Math.max(1, want.size);
  });
  return sum / got.length;
}

/** One index with `partition`: loaded with maintenance paused, its lists built once at the end (timed). */
function build(data: BenchmarkData, partition: PartitionKind): { index: FaceIndex; seconds: number } {
  const index = new FaceIndex({ approximate: { partition }, backgroundMaintenance: false });
  index.pauseMaintenance();
  for (let i = 0; i < data.ids.length; i++) index.upsert(data.ids[i], data.vectors.subarray(i * DIMS, (i + 1) * DIMS));
  const t = performance.now();
  index.resumeMaintenance();
  while (index.maintenanceStep(1000));
  return { index, seconds: (performance.now() - t) / 1000 };
}

function oneAtATime(index: FaceIndex, data: BenchmarkData, count: number, effort: number | undefined): { qps: number; got: Neighbor[][] } {
  const got: Neighbor[][] = [];
  const started = performance.now();
  for (let q = 0; q < count; q++) {
    const [list] = index.search(
      data.queries.subarray(q * DIMS, (q + 1) * DIMS),
      K,
      undefined,
      effort === undefined ? undefined : { approximate: true, effort },
    );
    got.push(list);
  }
  return { qps: count / ((performance.now() - started) / 1000), got };
}

function measure(faces: number): PartitionRow[] {
  const data = benchmarkData({ faces, identities: Math.max(1, Math.round(faces / 5)), queries: QUERIES, seed: 1 });
  const rows: PartitionRow[] = [];
  let truth: Neighbor[][] | undefined;
  for (const partition of PARTITIONS) {
    const { index, seconds } = build(data, partition);
    const lists = index.stats().lists;
    console.log(`${faces} faces, ${partition}: ${lists} lists built in ${seconds.toFixed(2)} s`);
    truth ??= float32Truth(index, data.vectors, data.ids, data.queries, K);
    const partitionSeconds = partitionAlone(data, partition, lists);
    const base = { faces, partition, listsBuildSeconds: seconds, partitionSeconds, lists };
    const exactCount = faces >= 500_000 ? 100 : 300;
    const exact = oneAtATime(index, data, exactCount, undefined);
    rows.push({ ...base, mode: 'exact', qps: exact.qps, recall1: recallAt(exact.got, truth, 1), recall10: recallAt(exact.got, truth, 10) });
    for (const effort of EFFORTS) {
      const approximate = oneAtATime(index, data, QUERIES, effort);
      rows.push({
        ...base,
        mode: `approximate effort ${effort}`,
        effort,
        qps: approximate.qps,
        recall1: recallAt(approximate.got, truth, 1),
        recall10: recallAt(approximate.got, truth, 10),
      });
      console.log(`  effort ${effort}: ${approximate.qps.toFixed(0)} q/s, recall@1 ${rows.at(-1)!.recall1.toFixed(3)}`);
    }
  }
  return rows;
}

/** The fastest approximate row of `partition` reaching recall@1 >= 0.99. */
function atRecall99(rows: PartitionRow[], faces: number, partition: PartitionKind): PartitionRow | undefined {
  return rows.filter((r) => r.faces === faces && r.partition === partition && r.effort !== undefined && r.recall1 >= 0.99).sort((a, b) => b.qps - a.qps)[0];
}

async function main() {
  const loadavgAtStart = os.loadavg();
  const rows = SIZES.flatMap(measure);
  const machine = { ...machineFacts(loadavgAtStart), commit: productCommit() };
  const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const md = [
    '# Lists for approximate search: k-means against a KD-tree over principal axes',
    '',
    `\`node --expose-gc dist/bench/search/partition.js\` (bench/search/partition.ts), commit ${machine.commit}, ${machine.cores} cores, Node ${machine.node}, load average ${loadavgAtStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ${machine.loadavg.map((x) => x.toFixed(2)).join(' / ')} at the end.`,
    '',
    `One FaceIndex a partition in one process, the same \`benchmarkData\` faces and ${QUERIES} queries (half from people not enrolled), k = ${K}, one query at a time; recall against the float32 truth (float32-truth.ts). Lists built = the time \`resumeMaintenance\` takes after a bulk load: train, assign every row, sort rows by list, learn the pre-filter (the same work for both). Partition alone = training on the float32 vectors and assigning every row, nothing else.`,
    '',
    '| faces | partition | lists | lists built (s) | partition alone (s) | mode | queries/s | recall@1 | recall@10 |',
    '|---:|---|---:|---:|---:|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${fmt(r.faces)} | ${r.partition} | ${fmt(r.lists)} | ${fmt(r.listsBuildSeconds, 1)} | ${fmt(r.partitionSeconds, 1)} | ${r.mode} | ${fmt(r.qps, 1)} | ${r.recall1.toFixed(3)} | ${r.recall10.toFixed(3)} |`,
    ),
    '',
    "## The decision (issue 24: the tree is the default if recall@1 >= 0.99 at >= 90% of the k-means lists' queries/s, or it builds much faster at equal speed)",
    '',
  ];
  for (const faces of SIZES) {
    const kmeans = atRecall99(rows, faces, 'kmeans');
    const kdtree = atRecall99(rows, faces, 'kdtree');
    const first = (p: PartitionKind) => rows.find((r) => r.faces === faces && r.partition === p)!;
    const buildOf = (p: PartitionKind) => `${first(p).listsBuildSeconds.toFixed(1)} s (partition alone ${first(p).partitionSeconds.toFixed(1)} s)`;
    const speed = kmeans && kdtree ? kdtree.qps / kmeans.qps : undefined;
    md.push(
      `- ${fmt(faces)} faces: at recall@1 >= 0.99, k-means ${kmeans ? `${fmt(kmeans.qps)} q/s (effort ${kmeans.effort})` : 'never'}, KD-tree ${kdtree ? `${fmt(kdtree.qps)} q/s (effort ${kdtree.effort})` : 'never (up to effort ' + EFFORTS.at(-1) + ')'}${speed !== undefined ? `: ${speed.toFixed(2)}x` : ''}; lists built in ${buildOf('kmeans')} with k-means and ${buildOf('kdtree')} with the KD-tree. ${speed !== undefined && speed >= 0.9 ? 'The tree meets the rule.' : 'The tree does not meet the rule.'}`,
    );
  }
  await writeFile(path.join(ROOT, 'bench/results/partition.md'), md.join('\n') + '\n');
  await writeFile(path.join(ROOT, 'bench/results/partition.json'), JSON.stringify({ machine, rows }, null, 2) + '\n');
  console.log(md.join('\n'));
}

await main();
