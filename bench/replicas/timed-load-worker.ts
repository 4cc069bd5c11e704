/** The worker side of timed-load.ts: one run of queries, each answer's completion time kept. */
import { parentPort, workerData } from 'node:worker_threads';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import type { TimedLoadRun, TimedLoadResult } from './timed-load.js';

const run = workerData as TimedLoadRun;
let stopped = false;
parentPort!.once('message', () => (stopped = true));

async function main(): Promise<TimedLoadResult> {
  const client = await FaceshardClient.connect(run.natsUrl, { name: 'faceshard-bench-replicas', security: run.security });
  const count = run.queries.length / run.dims;
  const result: TimedLoadResult = { startedAt: Date.now(), endedAt: 0, doneAt: [], latenciesMs: [], partial: 0, errors: 0 };
  let next = 0;
  const end = result.startedAt + run.durationMs;
  const loop = async () => {
    while (!stopped && Date.now() < end) {
      const q = next++ % count;
      const t = performance.now();
      try {
        const reply = await client.queryBinary(run.queries.subarray(q * run.dims, (q + 1) * run.dims), run.options);
        if (reply.partial) result.partial++;
        result.latenciesMs.push(performance.now() - t);
        result.doneAt.push(Date.now());
      } catch {
        result.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: run.concurrency }, loop));
  result.endedAt = Date.now();
  await client.close();
  return result;
}

main().then(
  (result) => {
    parentPort!.postMessage({ result });
    parentPort!.close();
  },
  (err: Error) => parentPort!.postMessage({ error: err.message }),
);
