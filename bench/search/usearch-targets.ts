/**
 * Issue 24's comparisons, as ratios with their targets beside them (stated for 1,000,000
 * faces on 2 cores, shown at every size):
 *   - in process, one FaceIndex approximate at recall@1 >= 0.99 ≥ 1.5× usearch's best
 *     setting reaching that recall (batched, 2 threads);
 *   - the cluster approximate at recall@1 >= 0.99 > 1× the same usearch setting;
 *   - the cluster exact ≥ 1.2× FAISS IndexFlatL2 batched.
 * queries/s compare rows on the same faces, so the ratio is the same in faces/s.
 */
import { best, type Row } from './row.js';

const TARGET_RECALL = 0.99;
const IN_PROCESS = 'faceshard in process';
const CLUSTER = 'faceshard cluster (4 shards)';

/** usearch's fastest batched row at recall@1 >= 0.99 over every expansion_search tried. */
function usearchAtRecall(rows: Row[]): Row | undefined {
  return rows.filter((r) => r.system.startsWith('usearch') && /^batched/.test(r.mode) && (r.recall1 ?? 0) >= TARGET_RECALL).sort((a, b) => b.qps - a.qps)[0];
}

const qps = (r: Row) => `${r.qps.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })} q/s`;
const described = (r: Row) => `${qps(r)} (${r.system}, ${r.mode}${r.recall1 === undefined ? '' : `, recall@1 ${r.recall1.toFixed(3)}`})`;

/** A side of a comparison: its row, or why there is none. */
type Side = Row | string;

const cell = (side: Side) => (typeof side === 'string' ? side : described(side));

/** One table row: faceshard's side, the peer's, their ratio, the target ratio and whether it holds. */
function line(label: string, ours: Side, peer: Side, target: number, strictly: boolean): string {
  const wanted = `${strictly ? '>' : '≥'} ${target}×`;
  if (typeof ours === 'string' || typeof peer === 'string') return `| ${label} | ${cell(ours)} | ${cell(peer)} | n/a | ${wanted} | n/a |`;
  const ratio = ours.qps / peer.qps;
  const met = strictly ? ratio > target : ratio >= target;
  return `| ${label} | ${cell(ours)} | ${cell(peer)} | ${ratio.toFixed(2)}× | ${wanted} | ${met ? 'met' : `missed: ${(target / ratio).toFixed(2)}× short`} |`;
}

export function usearchTargets(rows: Row[]): string[] {
  const ran = (system: string | RegExp) => rows.some((r) => (typeof system === 'string' ? r.system === system : system.test(r.system)));
  const or = (row: Row | undefined, system: string | RegExp, short: string): Side => row ?? (ran(system) ? short : 'not run');
  const atRecall = `no row at recall@1 ≥ ${TARGET_RECALL}`;
  const usearch = or(usearchAtRecall(rows), /^usearch/, 'no expansion_search tried reached recall@1 0.99');
  return [
    '| issue 24 (targets at 1,000,000 faces, 2 cores) | faceshard | peer | ratio | target | verdict |',
    '|---|---|---|---:|---:|---|',
    line(
      'in process approximate (one FaceIndex, recall@1 ≥ 0.99) ÷ usearch best at recall@1 ≥ 0.99 (batched, 2 threads)',
      or(best(rows, IN_PROCESS, /^approximate/, TARGET_RECALL), IN_PROCESS, atRecall),
      usearch,
      1.5,
      false,
    ),
    line(
      'cluster approximate (recall@1 ≥ 0.99) ÷ the same usearch setting',
      or(best(rows, CLUSTER, /^approximate/, TARGET_RECALL), CLUSTER, atRecall),
      usearch,
      1,
      true,
    ),
    line(
      'cluster exact (best concurrency) ÷ FAISS IndexFlatL2 batched',
      or(best(rows, CLUSTER, /^exact/), CLUSTER, 'no exact row'),
      or(best(rows, 'faiss-flat', /batched/), 'faiss-flat', 'no batched row'),
      1.2,
      false,
    ),
  ];
}
