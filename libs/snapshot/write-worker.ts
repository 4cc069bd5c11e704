/**
 * Worker thread of `writeSnapshot`: hashes the parts, writes them to the temp file and
 * fsyncs it. The large parts arrive transferred (not copied), so they are freed the moment
 * this thread exits instead of waiting for a major GC of the shard's heap.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';

export interface WriteJob {
  temp: string;
  parts: Uint8Array[];
}

export type WriteResult = { bytes: number } | { error: string };

async function writeParts({ temp, parts }: WriteJob): Promise<number> {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  const digest = hash.digest();
  let bytes = 0;
  const handle = await open(temp, 'w');
  try {
    for (const p of [...parts, digest]) {
      let done = 0;
      while (done < p.byteLength) done += (await handle.write(p, done)).bytesWritten;
      bytes += p.byteLength;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

writeParts(workerData as WriteJob).then(
  (bytes) => parentPort!.postMessage({ bytes } satisfies WriteResult),
  (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies WriteResult),
);
