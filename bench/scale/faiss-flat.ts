/**
 * The exact peer of issue 24's target 3 at every size: FAISS IndexFlatL2, batched on 2
 * threads, over the same faces.npy and queries the cluster answered (bench/scale/faiss-flat.py).
 * Run once the cluster is stopped, so the two never share the cores.
 */
import { execFile } from 'node:child_process';
import { pythonWith } from '../python.js';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const SCRIPT = fileURLToPath(new URL('../../../bench/scale/faiss-flat.py', import.meta.url));

export const FaissFlatRun = z.object({ addSeconds: z.number(), queries: z.number(), seconds: z.number(), qps: z.number() });
export type FaissFlatResult = z.infer<typeof FaissFlatRun> | { skipped: string };

export function faissFlat(facesPath: string, queriesPath: string, k: number, timeoutMs: number): Promise<FaissFlatResult> {
  const python = pythonWith('numpy, faiss');
  if (!python) return Promise.resolve({ skipped: 'no python3 with numpy and faiss (apt-get install python3-faiss)' });
  return new Promise((resolve) => {
    execFile(python, [SCRIPT, facesPath, queriesPath, '--k', String(k)], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) return resolve({ skipped: `failed or timed out: ${(stderr || String(err)).trim().split('\n').at(-1)}` });
      let parsed;
      try {
        parsed = FaissFlatRun.safeParse(JSON.parse(stdout));
      } catch {
        parsed = undefined;
      }
      resolve(parsed?.success ? parsed.data : { skipped: `unexpected output: ${stdout.slice(0, 200)}` });
    });
  });
}
