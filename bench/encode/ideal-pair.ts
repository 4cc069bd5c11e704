import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { loadFaceApi, type BackendName } from '../../libs/face-encoder/index.js';
import { baselineRun } from './baseline.js';

/**
 * The ceiling for W workers on this machine: W threads, each running face-api's own loop
 * (baseline.ts) on its share of the images, with nothing of faceshard in between (no pool,
 * no messages per image, no dataset reader). What W workers lose against W x baseline here
 * is the machine's (cores slowing each other down, other load), not faceshard's.
 */

const Setup = z.object({ files: z.array(z.string()), backend: z.string() });
const Result = z.object({ seconds: z.number(), faces: z.number().int(), images: z.number().int() });

export async function idealRun(
  files: string[],
  threads: number,
  backend: BackendName,
): Promise<{ seconds: number; faces: number; images: number; cpuMsPerImage: number }> {
  const shares = Array.from({ length: threads }, (_, t) => files.filter((_, i) => i % threads === t));
  const workers = shares.map((share) => new Worker(new URL(import.meta.url), { workerData: { files: share, backend } }));
  try {
    // Each thread loads its models and warms up first; the clock starts when all are ready.
    await Promise.all(workers.map((w) => reply(w)));
    const cpu = process.cpuUsage(); // every thread of this process
    const started = performance.now();
    const results = await Promise.all(workers.map((w) => (w.postMessage('go'), reply(w))));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const parsed = results.map((r) => Result.parse(r));
    return { seconds, faces: parsed.reduce((s, r) => s + r.faces, 0), images: files.length, cpuMsPerImage: (used.user + used.system) / 1000 / files.length };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function reply(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const setup = Setup.parse(workerData);
  const api = await loadFaceApi({ backend: setup.backend as BackendName });
  await baselineRun(api, setup.files.slice(0, 3));
  port.once('message', () => void baselineRun(api, setup.files).then((r) => port.postMessage(r)));
  port.postMessage('ready');
}
