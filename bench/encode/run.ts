#!/usr/bin/env node
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadFaceApi, encodeDataset, encodeImageFile, startWorkerPool, type WorkerMode } from '../../libs/face-encoder/index.js';
import { folderDataset } from '../../libs/image-source/index.js';
import { SAMPLE_PHOTOS, samplePhotoDir } from '../../libs/sample-photos/index.js';
import { portraits } from '../../test/fixtures/sample-portraits.js';
import { removeDir, tempDir } from '../../test/helpers/nats.js';
import { baselineRun } from './baseline.js';
import { idealRun } from './ideal-pair.js';
import { probeWasm } from './threaded-wasm.js';

/**
 * Encoding speed: faces/s on 512x512 single-face portraits made from face-api's sample
 * photos, face-api's own single-threaded loop (the baseline) against faceshard's encoder
 * with 1 and 2 workers (threads, and processes), all in one run on this machine's backend,
 * and the ceiling for 2 workers here: two threads each running face-api's loop (ideal-pair.ts).
 * Writes bench/results/encode.md and encode.json.
 *
 *   node dist/bench/encode/run.js [--images N] [--out DIR]
 */

interface Measured {
  name: string;
  workers: number;
  mode: WorkerMode | 'baseline' | 'ideal';
  images: number;
  faces: number;
  seconds: number;
  facesPerSecond: number;
  loadSeconds: number;
  /** CPU time of every thread per image; unknown for child processes. */
  cpuMsPerImage?: number;
}

const { values } = parseArgs({ options: { images: { type: 'string', default: '48' }, rounds: { type: 'string', default: '2' }, out: { type: 'string' } } });
const imageCount = Number(values.images);
const rounds = Number(values.rounds);
const outDir = values.out ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/results');

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();
const work = await tempDir('faceshard-bench-encode-');
try {
  const api = await loadFaceApi();
  console.error(`backend ${api.backend}; making ${imageCount} portraits...`);
  const faces: Array<{ photo: Uint8Array; box: { x: number; y: number; width: number; height: number } }> = [];
  for (const name of SAMPLE_PHOTOS) {
    const file = path.join(samplePhotoDir(), name);
    const photo = await readFile(file);
    for (const f of await encodeImageFile(file)) if (f.score >= 0.95 && f.box.width >= 120) faces.push({ photo, box: f.box });
  }
  const files: string[] = [];
  for await (const p of portraits(faces, imageCount)) {
    const file = path.join(work, `${String(p.index).padStart(4, '0')}.jpg`);
    await writeFile(file, p.bytes);
    files.push(file);
  }
  // Warm-up: the first inferences compile kernels; nobody's number should pay for that.
  await baselineRun(api, files.slice(0, 3));

  // Rounds interleave the configurations so a burst of load elsewhere hits them alike;
  // each configuration keeps its best round.
  const best = new Map<string, Measured>();
  // Per round, each configuration's speed over that round's baseline: neighbours in time
  // share the machine's load, so their ratio is steadier than a ratio of best rounds.
  const roundRatios = new Map<string, number[]>();
  let roundBaseline = 0;
  const keep = (m: Measured) => {
    if (m.mode === 'baseline') roundBaseline = m.facesPerSecond;
    roundRatios.set(m.name, [...(roundRatios.get(m.name) ?? []), m.facesPerSecond / roundBaseline]);
    const previous = best.get(m.name);
    if (!previous || m.facesPerSecond > previous.facesPerSecond) best.set(m.name, m);
    console.error(`round: ${m.name}: ${m.facesPerSecond.toFixed(2)} faces/s (load ${load()})`);
  };
  // process.cpuUsage() counts every thread of this process: the work an image costs,
  // whatever share of the cores the run got.
  const cpuMs = (since: NodeJS.CpuUsage, images: number) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000 / images;
  };
  for (let round = 0; round < rounds; round++) {
    let cpu = process.cpuUsage();
    const base = await baselineRun(api, files);
    keep({
      name: 'face-api loop (baseline)',
      workers: 1,
      mode: 'baseline',
      ...base,
      facesPerSecond: base.faces / base.seconds,
      loadSeconds: api.loadSeconds,
      cpuMsPerImage: cpuMs(cpu, base.images),
    });
    for (const [workers, mode] of [
      [1, 'thread'],
      [2, 'thread'],
      [2, 'process'],
    ] as const) {
      const pool = await startWorkerPool({ workers, mode, backend: api.backend });
      try {
        await encodeDataset(folderDataset(work), { encoder: pool, onFaces: async () => undefined, alreadyDone: (p) => p > '0002.jpg' }); // warm-up, 3 images
        let found = 0;
        cpu = process.cpuUsage();
        const started = performance.now();
        const summary = await encodeDataset(folderDataset(work), { encoder: pool, onFaces: async (b) => void (found += b.length) });
        const seconds = (performance.now() - started) / 1000;
        const name = `faceshard, ${workers} worker ${mode}${workers > 1 ? (mode === 'process' ? 'es' : 's') : ''}`;
        const cpuMsPerImage = mode === 'thread' ? cpuMs(cpu, summary.images) : undefined;
        keep({
          name,
          workers,
          mode,
          images: summary.images,
          faces: found,
          seconds,
          facesPerSecond: found / seconds,
          loadSeconds: pool.loadSeconds,
          cpuMsPerImage,
        });
      } finally {
        await pool.close();
      }
    }
    const ideal = await idealRun(files, 2, api.backend);
    keep({ name: 'ceiling: 2 threads x face-api loop', workers: 2, mode: 'ideal', ...ideal, facesPerSecond: ideal.faces / ideal.seconds, loadSeconds: 0 });
  }
  const runs = [...best.values()];
  const [single, threaded] = await probeWasm(files[0], work);
  const loadAfter = load();

  const baseline = runs[0].facesPerSecond;
  const result = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.availableParallelism(),
      model: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    },
    backend: api.backend,
    images: imageCount,
    imageSize: '512x512',
    rounds,
    wasmThreads: { single, threaded },
    runs: runs.map((r) => ({
      ...r,
      ratioToBaseline: Number((r.facesPerSecond / baseline).toFixed(2)),
      cpuMsPerImage: r.cpuMsPerImage === undefined ? undefined : Math.round(r.cpuMsPerImage),
      medianRoundRatio: Number(median(roundRatios.get(r.name) ?? []).toFixed(2)),
      roundRatios: (roundRatios.get(r.name) ?? []).map((x) => Number(x.toFixed(2))),
    })),
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'encode.json'), `${JSON.stringify(result, null, 2)}\n`);
  const rows = result.runs.map(
    (r) =>
      `| ${r.name} | ${r.images} | ${r.faces} | ${r.seconds.toFixed(1)} | ${r.facesPerSecond.toFixed(2)} | ${r.ratioToBaseline.toFixed(2)}x | ${r.medianRoundRatio.toFixed(2)}x (${r.roundRatios.map((x) => x.toFixed(2)).join(', ')}) | ${r.cpuMsPerImage ?? '-'} | ${r.mode === 'ideal' ? '-' : r.loadSeconds.toFixed(1)} |`,
  );
  const thread2 = result.runs.find((r) => r.workers === 2 && r.mode === 'thread')!;
  const process2 = result.runs.find((r) => r.workers === 2 && r.mode === 'process')!;
  const md = [
    '# Encoding speed',
    '',
    `${imageCount} single-face 512x512 JPEG portraits cut from face-api's sample photos (crops around detected faces, mirrored, four scales).`,
    `Backend **${api.backend}**, ${result.machine.cpus} cores (${result.machine.model}), Node ${process.version}, ${result.date}.`,
    `Load average (1/5/15 min) before: ${loadBefore}; after: ${loadAfter}. Other work on the machine makes these numbers noisy.`,
    '',
    '| run | images | faces | seconds | faces/s | vs baseline (best rounds) | vs baseline, same round: median (each round) | CPU ms/image | model load s |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `The baseline is face-api's demo/node.js loop (one image at a time on the main thread: decode, \`detectAllFaces().withFaceLandmarks().withFaceDescriptors()\`, dispose), same SSD options (minConfidence 0.5). Every run is warmed up on 3 images first; model loading is not timed. ${rounds} interleaved rounds, best round of each shown.`,
    `The ceiling row runs face-api's loop in 2 threads at once, half the images each, nothing of faceshard in between: what 2 workers can reach on this machine. CPU ms/image is the CPU time of all threads of the bench process per image (not measured for child processes); it does not depend on how much of the cores a run got, so it shows extra work per image where faces/s shows only speed.`,
    '',
    `Threads vs processes (2 workers): ${thread2.facesPerSecond.toFixed(2)} vs ${process2.facesPerSecond.toFixed(2)} faces/s; ${thread2.facesPerSecond >= process2.facesPerSecond ? 'threads' : 'processes'} measured faster here. \`--worker-mode\` picks (default thread: equal within noise over several runs, and lighter).`,
    `Multi-threaded wasm (tfjs-backend-wasm's threaded-simd build, forced on in a fresh process, one portrait 12 times): ${threaded.started ? `${threaded.threads} thread(s) reported, ${threaded.msPerImage.toFixed(0)} ms/image` : `did not start (${threaded.detail})`} vs single-threaded simd ${single.msPerImage.toFixed(0)} ms/image. tfjs disables threads in Node (tfjs#3830); the bench's probe hands the build's Blob-URL workers real files so it starts. ${threaded.started && threaded.threads > 1 && threaded.msPerImage < single.msPerImage ? 'Threads measured faster per image, but W single-threaded workers use the cores without cross-thread sync.' : 'It is not faster, so workers run the single-threaded simd build.'}`,
    '',
  ].join('\n');
  await writeFile(path.join(outDir, 'encode.md'), md);
  console.log(md);
} finally {
  await removeDir(work);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
