/**
 * In-process microbenchmark of FaceIndex search (issue 4): the same data and queries
 * against two indexes in one process, rounds interleaved (the machine is shared, so
 * only same-run comparisons mean anything):
 *
 *   before           new FaceIndex({ prefilter: false })   float32 SIMD scan of every candidate row
 *   after (1 stage)  new FaceIndex({ prefilterAxes: 0 })   int8 codes of every dimension, exact re-rank
 *   after (no shortlist) new FaceIndex({ shortlist: false }) + a first stage on 32 principal axes
 *   after            new FaceIndex()                       + approximate: rows ranked on those axes, a shortlist re-ranked
 *
 * Per size: build time and bytes of each, then per round and mode (exact; approximate
 * at several efforts) queries/s one query at a time, p50, recall@1/@10 against the
 * exact answer, and whether "after" answered exactly like "before" (exact mode).
 *
 *   node .build/idx/bench/search/index-micro.js
 *   env: MICRO_SIZES (default 250000), MICRO_QUERIES (200), MICRO_ROUNDS (3),
 *        MICRO_EFFORTS (0.5,1,1.5,2), MICRO_K (10)
 */
import { FaceIndex, type FaceIndexOptions, type Neighbor } from '../../libs/index/face-index/index.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';

const DIMS = 128;
const SIZES = (process.env.MICRO_SIZES ?? '250000').split(',').map(Number);
const QUERIES = Number(process.env.MICRO_QUERIES ?? 200);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 3);
const EFFORTS = (process.env.MICRO_EFFORTS ?? '0.5,1,1.5,2').split(',').map(Number);
const K = Number(process.env.MICRO_K ?? 10);

interface Variant {
  name: string;
  options: FaceIndexOptions;
  index?: FaceIndex;
  buildSeconds?: number;
}

function recall(got: Neighbor[][], truth: Neighbor[][], k: number): number {
  let sum = 0;
  for (let q = 0; q < truth.length; q++) {
    const want = new Set(truth[q].slice(0, k).map((n) => n.id));
    sum += got[q].slice(0, k).filter((n) => want.has(n.id)).length / Math.max(1, want.size);
  }
  return sum / truth.length;
}

function run(index: FaceIndex, queries: Float32Array, count: number, options: Parameters<FaceIndex['search']>[3]) {
  const latencies: number[] = [];
  const got: Neighbor[][] = [];
  const started = performance.now();
  for (let q = 0; q < count; q++) {
    const t = performance.now();
    got.push(index.search(queries.subarray(q * DIMS, (q + 1) * DIMS), K, undefined, options)[0]);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { qps: count / seconds, p50: latencies[Math.floor(count / 2)], got };
}

for (const faces of SIZES) {
  const data = benchmarkData({ faces, identities: Math.floor(faces / 5), queries: QUERIES, seed: 1 });
  const variants: Variant[] = [
    { name: 'before', options: { prefilter: false } },
    { name: 'after (1 stage)', options: { prefilterAxes: 0 } },
    { name: 'after (no shortlist)', options: { shortlist: false } },
    { name: 'after', options: {} },
  ];
  for (const v of variants) {
    const t0 = performance.now();
    const index = new FaceIndex({ ...v.options, backgroundMaintenance: false });
    for (let i = 0; i < faces; i++) index.upsert(data.ids[i], data.vectors.subarray(i * DIMS, (i + 1) * DIMS));
    index.rebuild();
    v.buildSeconds = (performance.now() - t0) / 1000;
    v.index = index;
    const stats = index.stats();
    console.log(
      `${faces} ${v.name}: built in ${v.buildSeconds.toFixed(2)} s, bytes ${(stats.bytes / 2 ** 20).toFixed(1)} MiB = ${(stats.bytes / (faces * DIMS * 4)).toFixed(3)}x raw, lists ${stats.lists}`,
    );
  }
  const truth = run(variants[0].index!, data.queries, QUERIES, undefined).got;
  const modes: Array<{ label: string; options?: Parameters<FaceIndex['search']>[3] }> = [
    { label: 'exact' },
    ...EFFORTS.map((effort) => ({ label: `approx ${effort}`, options: { approximate: true, effort } })),
  ];
  const table = new Map<string, { qps: number[]; p50: number[]; r1: number; r10: number; same: boolean }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const r = run(v.index!, data.queries, QUERIES, mode.options);
        const key = `${mode.label}|${v.name}`;
        const row = table.get(key) ?? { qps: [], p50: [], r1: 0, r10: 0, same: true };
        row.qps.push(r.qps);
        row.p50.push(r.p50);
        row.r1 = recall(r.got, truth, 1);
        row.r10 = recall(r.got, truth, 10);
        if (mode.label === 'exact') row.same &&= JSON.stringify(r.got) === JSON.stringify(truth);
        table.set(key, row);
      }
    }
  }
  console.log(`\n${faces.toLocaleString('en-US')} faces, ${QUERIES} queries one at a time, k=${K}, ${ROUNDS} rounds (q/s per round; median)`);
  console.log('| mode | variant | q/s (rounds) | median q/s | p50 ms | recall@1 | recall@10 | exact = before |');
  console.log('|---|---|---|---:|---:|---:|---:|---|');
  for (const [key, row] of table) {
    const [mode, name] = key.split('|');
    const sorted = [...row.qps].sort((a, b) => a - b);
    const p50 = [...row.p50].sort((a, b) => a - b)[Math.floor(row.p50.length / 2)];
    console.log(
      `| ${mode} | ${name} | ${row.qps.map((x) => x.toFixed(0)).join(' / ')} | ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} | ${p50.toFixed(2)} | ${row.r1.toFixed(3)} | ${row.r10.toFixed(3)} | ${mode === 'exact' ? String(row.same) : ''} |`,
    );
  }
  for (const v of variants) v.index = undefined;
}
