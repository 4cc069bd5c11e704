/**
 * A one-shard cluster holding enough faces that a large exact leg takes seconds, and the
 * tools to flood its shard subject directly while timing its /healthz: what
 * test/integration/shard-load.test.ts and bench/shard-queue/health-under-load.ts share.
 */
import { connect, headers, type NatsConnection } from 'nats';
import { BINARY_CONTENT_TYPE, DEADLINE_HEADER, ErrorReply, ShardReply } from '../../libs/protocol/index.js';
import { syntheticFaces, type SyntheticFaces } from '../../libs/synthetic/faces.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { startTestCluster, type TestCluster } from './cluster.js';
import { toFaces } from './expected.js';
import { until } from './wait.js';

export interface LoadedShard {
  cluster: TestCluster;
  people: SyntheticFaces;
  /** The shard process's ops port (/healthz, /readyz, /metrics). */
  httpPort: number;
  nc: NatsConnection;
  cleanup(): Promise<void>;
}

/** One shard (one replica), `faces` synthetic faces ingested and applied. */
export async function startLoadedShard(faces: number, shardEnv: Record<string, string>): Promise<LoadedShard> {
  const people = syntheticFaces({ identities: Math.ceil(faces / 5), photosPerIdentity: 5, seed: 2201 });
  const cluster = await startTestCluster({ shards: 1, shardEnv: () => shardEnv, readyTimeoutMs: 60_000 });
  try {
    const ingested = await cluster.client.ingestMany(toFaces(people.vectors, people.ids, false), { concurrency: 4, timeoutMs: 30_000 });
    if (ingested.accepted !== people.ids.length) throw new Error(`ingest accepted ${ingested.accepted} of ${people.ids.length} faces`);
    const replica = await until(
      'the shard applied every face and finished its index maintenance',
      async () => (await cluster.client.status()).shards[0]?.replicas.find((r) => r.count === people.ids.length && r.maintenance === 'idle'),
      60_000,
    );
    const nc = await connect({ servers: cluster.url });
    return { cluster, people, httpPort: replica.httpPort!, nc, cleanup: async () => void (await nc.close(), await cluster.cleanup()) };
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}

export type LegOutcome = { ms: number; reply: ShardReply } | { ms: number; error: ErrorReply['error']; status: string | undefined };

/** One exact leg of `vectors` straight to shard 0's subject (binary, as the coordinator sends), timed; with `deadline`, the coordinator's deadline header at the timeout. */
export async function sendLeg(nc: NatsConnection, vectors: Float32Array, k: number, timeoutMs = 30_000, deadline = false): Promise<LegOutcome> {
  const h = headers();
  h.set('content-type', BINARY_CONTENT_TYPE);
  h.set('k', String(k));
  if (deadline) h.set(DEADLINE_HEADER, String(Date.now() + timeoutMs));
  const started = performance.now();
  const msg = await nc.request('faces.shard.0.query', new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength), {
    headers: h,
    timeout: timeoutMs,
  });
  const ms = performance.now() - started;
  const body: unknown = JSON.parse(new TextDecoder().decode(msg.data));
  const error = ErrorReply.safeParse(body);
  if (error.success) return { ms, error: error.data.error, status: msg.headers?.get('Nats-Service-Error-Code') };
  return { ms, reply: ShardReply.parse(body) };
}

/** Query vectors near the stored faces (the first `count` identities, another photo of each). */
export function nearQueries(count: number, seed = 2202): Float32Array {
  return syntheticFaces({ identities: count, photosPerIdentity: 1, seed }).vectors.subarray(0, count * FACE_DIMENSIONS);
}

/** GETs `path` every `everyMs` until `stop()`; each answer's latency in ms (a failed or non-200 answer is Infinity). */
export function pollHealth(port: number, path: '/healthz' | '/readyz', everyMs: number): { stop(): Promise<number[]>; failures: string[] } {
  const latencies: number[] = [];
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const probe = () => {
    const started = performance.now();
    const done = fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        latencies.push(res.status === 200 ? performance.now() - started : Infinity);
        if (res.status !== 200) failures.push(`HTTP ${res.status}`);
      })
      .catch((err: Error) => {
        latencies.push(Infinity);
        failures.push(`${err.message}${err.cause ? ` (${String(err.cause)})` : ''}`);
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  probe();
  const timer = setInterval(probe, everyMs);
  return {
    failures,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
      return latencies;
    },
  };
}
