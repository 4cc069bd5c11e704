/** The worker side of query-load.ts: runs the queries it is asked to and answers with their latencies. */
import { parentPort, workerData } from 'node:worker_threads';
import { FaceshardClient } from '../libs/nats/client/index.js';
import type { NatsSecurity } from '../libs/nats/nats-auth/index.js';
import type { LoadRequest, LoadResponse, LoadResult } from './query-load.js';

const { natsUrl, security, queries, dims } = workerData as { natsUrl: string; security: NatsSecurity; queries: Float32Array; dims: number };
const count = queries.length / dims;
const clientReady = FaceshardClient.connect(natsUrl, { name: 'faceshard-bench-load', security });

async function run(request: LoadRequest): Promise<LoadResult> {
  const client = await clientReady;
  const latenciesMs: number[] = [];
  const ids: (string[] | undefined)[] = [];
  let partial = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < request.maxQueries && performance.now() - started < request.limitMs) {
      const n = next++;
      const q = request.order === 'forward' ? n % count : count - 1 - (n % count);
      const t = performance.now();
      const reply = await client.queryBinary(queries.subarray(q * dims, (q + 1) * dims), request.options);
      latenciesMs.push(performance.now() - t);
      if (reply.partial) partial++;
      if (n < request.keepIds) ids[n] = reply.results[0].map((neighbor) => neighbor.id);
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, worker));
  return { seconds: (performance.now() - started) / 1000, latenciesMs, ids, partial };
}

parentPort!.on('message', (request: LoadRequest) => {
  run(request).then(
    (result) => parentPort!.postMessage({ id: request.id, result } satisfies LoadResponse),
    (err: Error) => parentPort!.postMessage({ id: request.id, error: err.message } satisfies LoadResponse),
  );
});
