/** The worker side of load.ts: `concurrency` clients in a loop until the run's time is up. */
import { parentPort, workerData } from 'node:worker_threads';
import { FaceshardClient, FaceshardError } from '../../libs/nats/client/index.js';
import { Outcome, type OverloadRecord, type OverloadRun } from './load.js';

const run = workerData as OverloadRun;
const MAX_SAMPLES = 5;
/** When a `busy` reply carries no hint. */
const DEFAULT_RETRY_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<OverloadRecord> {
  const client = await FaceshardClient.connect(run.natsUrl, { name: 'faceshard-bench-overload', security: run.security });
  const count = run.queries.length / run.dims;
  const endedAtMs: number[] = [];
  const latencyMs: number[] = [];
  const outcome: number[] = [];
  const otherCodes: Record<string, number> = {};
  const otherSamples: string[] = [];
  const startedAt = Date.now();
  const t0 = performance.now();
  const end = t0 + run.durationMs;
  const record = (started: number, what: Outcome) => {
    const now = performance.now();
    endedAtMs.push(now - t0);
    latencyMs.push(now - started);
    outcome.push(what);
  };
  let next = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const q = next++ % count;
      const started = performance.now();
      try {
        const reply = await client.queryBinary(run.queries.subarray(q * run.dims, (q + 1) * run.dims), run.options);
        record(started, reply.partial ? Outcome.partial : Outcome.complete);
      } catch (err) {
        const code = err instanceof FaceshardError ? err.code : 'exception';
        if (code === 'busy') {
          record(started, Outcome.busy);
          const waitMs = Math.min(run.retryCapMs, (err as FaceshardError).retryAfterMs ?? DEFAULT_RETRY_MS);
          await sleep(Math.min(waitMs, end - performance.now()));
        } else if (code === 'timeout' || code === 'deadline') {
          record(started, Outcome.timeout);
        } else {
          record(started, Outcome.other);
          otherCodes[code] = (otherCodes[code] ?? 0) + 1;
          if (otherSamples.length < MAX_SAMPLES) otherSamples.push(`${code}: ${(err as Error).message}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: run.concurrency }, loop));
  const endedAt = Date.now();
  await client.close();
  return {
    startedAt,
    endedAt,
    endedAtMs: Float64Array.from(endedAtMs),
    latencyMs: Float64Array.from(latencyMs),
    outcome: Uint8Array.from(outcome),
    otherCodes,
    otherSamples,
  };
}

main().then(
  (record) => {
    parentPort!.postMessage({ record });
    parentPort!.close();
  },
  (err: Error) => parentPort!.postMessage({ error: err.message }),
);
