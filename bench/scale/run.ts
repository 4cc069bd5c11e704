/**
 * The scale benchmark (issue 24, targets 3 and 4): how each cost grows from 100,000 to
 * 10,000,000 faces through a local 4-shard cluster, the data brought as files. One fresh
 * cluster a size (measure-size.ts); writes bench/results/scale.md and scale.json.
 *
 * Run: node --expose-gc dist/bench/scale/run.js
 * Env: BENCH_SCALE_SIZES (default "100000,1000000,10000000"), BENCH_SCALE_READ_BATCH
 * (rows per ingest request, default 1000 as `faceshard ingest`), BENCH_KEEP (keep the
 * cluster's data dir).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BATCH_SIZE } from '../../libs/face-files/index.js';
import { machineFacts, productCommit } from '../run-facts.js';
import { measureSize, type ScaleSettings } from './measure-size.js';
import { scaleReport, type ScaleRun } from './report.js';
import type { SizeResult } from './result.js';

/** The repository root: the nearest folder above this file that holds package.json. */
const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '100000,1000000,10000000').split(',').map(Number);
const SETTINGS: ScaleSettings = {
  shards: 4,
  queries: 1000,
  k: 10,
  efforts: { start: 1, lower: [0.5, 0.35, 0.25], higher: [2, 4] },
  targetRecall: 0.99,
  readBatch: Number(process.env.BENCH_SCALE_READ_BATCH ?? DEFAULT_BATCH_SIZE),
  approximateLimitMs: 6_000,
  exactLimitMs: 10_000,
  // Settling, snapshots and a restart at 10,000,000 faces: generous, so a miss is measured, not cut off.
  waitMs: 20 * 60_000,
};

async function main(): Promise<void> {
  if (SIZES.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`BENCH_SCALE_SIZES must be whole numbers, got "${process.env.BENCH_SCALE_SIZES}"`);
  const started = performance.now();
  const loadavgAtStart = os.loadavg();
  const commit = productCommit();
  const sizes: SizeResult[] = [];
  for (const faces of SIZES) {
    sizes.push(await measureSize(faces, SETTINGS));
    // What this process kept of the size before (queries, truth lists) is garbage now.
    (globalThis as { gc?: () => void }).gc?.();
  }
  const run: ScaleRun = {
    commit,
    machine: { ...machineFacts(loadavgAtStart), cpu: os.cpus()[0]?.model, minutes: (performance.now() - started) / 60_000 },
    settings: SETTINGS,
    sizes,
  };
  const md = scaleReport(run);
  await writeFile(path.join(ROOT, 'bench/results/scale.md'), md);
  await writeFile(path.join(ROOT, 'bench/results/scale.json'), JSON.stringify(run, null, 2) + '\n');
  console.log(md);
}

await main();
