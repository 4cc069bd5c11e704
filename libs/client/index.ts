import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { BINARY_CONTENT_TYPE, DeleteReply, IngestReply, QueryReply, subjectsFor, type Subjects } from '../protocol/index.js';
import { FACE_DIMENSIONS } from '../vector/index.js';
import { requestJson } from './request.js';
import { clusterStatus, type ClusterStatus } from './status.js';

export { FaceshardError } from './errors.js';
export type { ClusterStatus };

export interface QueryOptions {
  k?: number;
  maxDistance?: number;
  timeoutMs?: number;
}

export interface FaceToIngest {
  id: string;
  vector: ArrayLike<number>;
  meta?: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** What any program needs to use a faceshard cluster over NATS. */
export class FaceshardClient {
  readonly subjects: Subjects;

  private constructor(
    readonly nc: NatsConnection,
    prefix: string,
  ) {
    this.subjects = subjectsFor(prefix);
  }

  static async connect(url: string, options: { prefix?: string; name?: string } = {}): Promise<FaceshardClient> {
    const nc = await connect({ servers: url.split(',').map((s) => s.trim()), name: options.name ?? 'faceshard-client' });
    return new FaceshardClient(nc, options.prefix ?? 'faces');
  }

  /** JSON form of `faces.query`, exactly what any NATS client would send. */
  query(vectors: ArrayLike<number>[], options: QueryOptions = {}): Promise<QueryReply> {
    const body = { vectors: vectors.map((v) => Array.from(v)), k: options.k ?? 1, ...(options.maxDistance !== undefined ? { maxDistance: options.maxDistance } : {}) };
    return requestJson(this.nc, this.subjects.query, encoder.encode(JSON.stringify(body)), QueryReply, { timeoutMs: options.timeoutMs ?? 10_000 });
  }

  /** Binary form: float32 vectors back to back, k and max-distance in headers. */
  queryBinary(vectors: Float32Array, options: QueryOptions = {}): Promise<QueryReply> {
    const h = natsHeaders();
    h.set('content-type', BINARY_CONTENT_TYPE);
    h.set('k', String(options.k ?? 1));
    if (options.maxDistance !== undefined) h.set('max-distance', String(options.maxDistance));
    const body = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.length * 4);
    return requestJson(this.nc, this.subjects.query, body, QueryReply, { timeoutMs: options.timeoutMs ?? 10_000, headers: h });
  }

  /** One `faces.ingest` request; answers after JetStream acknowledged every accepted face. */
  ingest(faces: FaceToIngest[], timeoutMs = 60_000): Promise<IngestReply> {
    return requestJson(this.nc, this.subjects.ingest, encoder.encode(JSON.stringify({ faces: faces.map(faceJson) })), IngestReply, { timeoutMs });
  }

  /**
   * Splits any number of faces into requests that fit the server's max payload and
   * sends a few at a time. Rejections come back with indexes into `faces`.
   */
  async ingestMany(faces: FaceToIngest[], options: { concurrency?: number; timeoutMs?: number } = {}): Promise<IngestReply> {
    const budget = Math.max(16 * 1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 8 * 1024);
    const chunks: Array<{ offset: number; faces: FaceToIngest[] }> = [];
    let current: FaceToIngest[] = [];
    let bytes = 16;
    let offset = 0;
    faces.forEach((face, i) => {
      const size = JSON.stringify(faceJson(face)).length + 1;
      if (current.length && (bytes + size > budget || current.length >= 5000)) {
        chunks.push({ offset, faces: current });
        current = [];
        bytes = 16;
        offset = i;
      }
      current.push(face);
      bytes += size;
    });
    if (current.length) chunks.push({ offset, faces: current });

    const total: IngestReply = { accepted: 0, rejected: [], seq: {} };
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++];
        const reply = await this.ingest(chunk.faces, options.timeoutMs);
        total.accepted += reply.accepted;
        for (const r of reply.rejected) total.rejected.push({ ...r, index: r.index + chunk.offset });
        for (const [shard, seq] of Object.entries(reply.seq)) total.seq[shard] = Math.max(total.seq[shard] ?? 0, seq);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, chunks.length) }, worker));
    total.rejected.sort((a, b) => a.index - b.index);
    return total;
  }

  delete(ids: string[], timeoutMs = 30_000): Promise<DeleteReply> {
    return requestJson(this.nc, this.subjects.delete, encoder.encode(JSON.stringify({ ids })), DeleteReply, { timeoutMs });
  }

  status(timeoutMs?: number): Promise<ClusterStatus> {
    return clusterStatus(this.nc, timeoutMs);
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

function faceJson(face: FaceToIngest) {
  // Send the exact float32 value (as a double) so the shard stores bit-identical vectors.
  const vector = Array.from(face.vector, (x) => (typeof x === 'number' ? Math.fround(x) : x));
  return face.meta === undefined ? { id: face.id, vector } : { id: face.id, vector, meta: face.meta };
}

export { FACE_DIMENSIONS };
