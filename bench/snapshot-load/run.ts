/**
 * One shard's restart from its snapshot, in process, by phase (issue 24: restart-to-ready).
 *
 *   node --expose-gc dist/bench/snapshot-load/run.js [faces] [dir]
 *
 * The first run builds `faces` synthetic faces (libs/synthetic, 5 photos a person) into a
 * FaceIndex as a shard does after a bulk load (IVF trained, pre-filter learned), writes its
 * snapshot as the shard does (writeSnapshot) and keeps 1,000 queries with their exact
 * answers next to it; later runs reuse them. Then it loads the snapshot as a restarting
 * replica does (pauseMaintenance, readSnapshot, importState, resumeMaintenance) and prints
 * each phase's wall and CPU seconds, and recall@1 of approximate search (effort 1) at each
 * point: whether the index answers as well right after the load as before the stop.
 * Defaults: 2,500,000 faces (a shard of the 10,000,000-face cluster), /tmp/faceshard-snapshot-load.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FaceIndex, type Neighbor } from '../../libs/index/face-index/index.js';
import { readSnapshot, snapshotState, writeSnapshot } from '../../libs/snapshot/index.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { FACE_DIMENSIONS as DIMS } from '../../libs/index/vector/index.js';

const FACES = Number(process.argv[2] ?? 2_500_000);
const DIR = process.argv[3] ?? '/tmp/faceshard-snapshot-load';
const QUERIES = 1000;
const SHARD = 0;

/** Wall and CPU seconds of `work` (CPU: this process, every thread). */
async function phase<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  console.log(
    `${name.padEnd(44)} wall ${((performance.now() - wall) / 1000).toFixed(2).padStart(6)} s   cpu ${((used.user + used.system) / 1e6).toFixed(2).padStart(6)} s`,
  );
  return result;
}

/** recall@1 of approximate search (effort 1, k 10 as the scale bench asks) over the queries, and its CPU seconds. */
function recall1(index: FaceIndex, queries: Float32Array, truth: string[]): string {
  const cpu = process.cpuUsage();
  const found: Neighbor[][] = index.search(queries, 10, undefined, { approximate: true, effort: 1 });
  const used = process.cpuUsage(cpu);
  const recall = found.filter((n, q) => n[0]?.id === truth[q]).length / truth.length;
  return `${recall.toFixed(4)} (${truth.length} queries, k 10: cpu ${((used.user + used.system) / 1e6).toFixed(2)} s)`;
}

async function build(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  const data = await phase(`synthesize ${FACES} faces`, () =>
    benchmarkData({ faces: FACES, identities: Math.ceil(FACES / 5), queries: QUERIES, enrolledShare: 0.7 }),
  );
  const index = new FaceIndex();
  await phase('upsert (maintenance paused)', () => {
    index.pauseMaintenance();
    for (let row = 0; row < FACES; row++) index.upsert(data.ids[row], data.vectors.subarray(row * DIMS, (row + 1) * DIMS));
  });
  await phase('resume: train IVF, learn the pre-filter', () => {
    index.resumeMaintenance();
    while (index.maintenanceStep(1000));
  });
  const truth = await phase('exact answers of the queries', () => index.search(data.queries, 1).map((n) => n[0].id));
  console.log(`recall@1 before the stop: ${recall1(index, data.queries, truth)}`, index.stats());
  await writeFile(path.join(DIR, 'queries.f32'), new Uint8Array(data.queries.buffer));
  await writeFile(path.join(DIR, 'truth.json'), JSON.stringify(truth));
  await phase('write the snapshot', () =>
    writeSnapshot(DIR, index, { shard: SHARD, stream: 'FACES', streamCreated: new Date().toISOString(), appliedSeq: FACES }),
  );
}

async function load(): Promise<void> {
  const queries = new Float32Array((await readFile(path.join(DIR, 'queries.f32'))).buffer.slice(0));
  const truth = JSON.parse(await readFile(path.join(DIR, 'truth.json'), 'utf8')) as string[];
  const started = process.cpuUsage();
  const wall = performance.now();
  const index = new FaceIndex();
  index.pauseMaintenance();
  const snapshot = await phase('readSnapshot (read, verify, decode)', () => readSnapshot(DIR, SHARD));
  if (!snapshot) throw new Error(`no snapshot in ${DIR}`);
  console.log(`  version ${snapshot.header.version}, ${snapshot.header.faces} faces`);
  await phase('importState', () => index.importState(snapshotState(snapshot)));
  console.log(`  prefilter ready after import: ${index.stats().prefilter}`);
  await phase('resumeMaintenance', () => index.resumeMaintenance());
  const used = process.cpuUsage(started);
  console.log(`load total: wall ${((performance.now() - wall) / 1000).toFixed(2)} s, cpu ${((used.user + used.system) / 1e6).toFixed(2)} s`);
  console.log(`  prefilter ready: ${index.stats().prefilter}, maintenance pending: ${index.maintenancePending}`);
  console.log(`recall@1 right after the load: ${recall1(index, queries, truth)}`);
  await phase('exportState (what a snapshot write copies on the event loop)', () => index.exportState());
  let steps = 0;
  await phase('maintenance steps left', () => {
    while (index.maintenanceStep(1000)) steps++;
  });
  console.log(`recall@1 after ${steps} maintenance steps: ${recall1(index, queries, truth)}`, index.stats());
  if (snapshot.header.version !== 3) {
    // An older file: the same index in today's format next to it, to compare (run again on that folder).
    const dir = path.join(DIR, 'now');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'queries.f32'), new Uint8Array(queries.buffer));
    await writeFile(path.join(dir, 'truth.json'), JSON.stringify(truth));
    const written = await phase(`write it as today's format to ${dir}`, () =>
      writeSnapshot(dir, index, { ...snapshot.header, streamCreated: snapshot.header.streamCreated }),
    );
    console.log(`  ${written.bytes} bytes`);
  }
}

if (!existsSync(path.join(DIR, 'truth.json'))) await build();
await load();
