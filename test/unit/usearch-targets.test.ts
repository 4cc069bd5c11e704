import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '../../bench/search/row.js';
import { usearchTargets } from '../../bench/search/usearch-targets.js';

const row = (system: string, mode: string, qps: number, recall1?: number): Row => ({
  system,
  mode,
  faces: 1000,
  queries: 1000,
  qps,
  facesPerSecond: 1000 * qps,
  recall1,
});

/** The table's cells of the line whose label starts with `label`. */
function cells(lines: string[], label: string): string[] {
  const line = lines.find((l) => l.startsWith(`| ${label}`));
  assert.ok(line, `a line for ${label}`);
  return line.split('|').map((c) => c.trim());
}

test('usearch targets: against usearch’s fastest batched row at recall@1 >= 0.99, with ratio and verdict', () => {
  const rows = [
    row('faceshard in process', 'approximate effort 1, one query at a time', 3000, 0.995),
    row('faceshard in process', 'approximate effort 0.25, one query at a time', 9000, 0.9),
    row('faceshard cluster (4 shards)', 'approximate, concurrency 64', 1900, 0.993),
    row('faceshard cluster (4 shards)', 'exact, concurrency 8', 300, 1),
    row('usearch ef=64', 'batched (1000 a call)', 5000, 0.98),
    row('usearch ef=128', 'batched (1000 a call)', 1800, 0.991),
    row('usearch ef=128', 'one query at a time', 2500, 0.991),
    row('usearch ef=256', 'batched (1000 a call)', 1000, 0.999),
    row('faiss-flat', 'batched (1000 a call)', 240, 1),
  ];
  const lines = usearchTargets(rows);
  const inProcess = cells(lines, 'in process');
  assert.match(inProcess[3], /usearch ef=128, batched/, 'the fastest batched setting at 0.99, not ef=64 (below) nor one at a time');
  assert.equal(inProcess[4], '1.67×');
  assert.equal(inProcess[6], 'met');
  const cluster = cells(lines, 'cluster approximate');
  assert.equal(cluster[4], '1.06×');
  assert.equal(cluster[5], '> 1×');
  assert.equal(cluster[6], 'met');
  const exact = cells(lines, 'cluster exact');
  assert.equal(exact[4], '1.25×');
  assert.equal(exact[6], 'met');
});

test('usearch targets: a miss says by how much; a missing side says why', () => {
  const rows = [
    row('faceshard in process', 'approximate effort 1, one query at a time', 1500, 0.995),
    row('usearch ef=128', 'batched (1000 a call)', 1200, 0.991),
    row('faiss-flat', 'batched (1000 a call)', 240, 1),
  ];
  const lines = usearchTargets(rows);
  assert.equal(cells(lines, 'in process')[6], 'missed: 1.20× short');
  assert.deepEqual(cells(lines, 'cluster approximate').slice(2, 5), ['not run', '1,200.0 q/s (usearch ef=128, batched (1000 a call), recall@1 0.991)', 'n/a']);
  assert.equal(cells(lines, 'cluster exact')[2], 'not run');
  const low = usearchTargets([row('usearch ef=64', 'batched (1000 a call)', 5000, 0.98)]);
  assert.equal(cells(low, 'in process')[3], 'no expansion_search tried reached recall@1 0.99');
});
