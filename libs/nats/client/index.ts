import { headers as natsHeaders, nuid, type NatsConnection } from 'nats';
import { connectAs, type NatsSecurity } from '../nats-auth/index.js';
import {
  bodyBudget,
  DEADLINE_HEADER,
  DEFAULT_SUBJECT_PREFIX,
  DeleteReply,
  DeleteWhereReply,
  ListFacesReply,
  PersonsReply,
  type DeleteWhereRequest,
  type ListFacesRequest,
  type PersonsRequest,
  EncodeReply,
  encodeFaceBatch,
  GetFacesReply,
  IngestReply,
  MAX_INGEST_FACES,
  QueryReply,
  queryHeaders,
  subjectsFor,
  VECTOR_BYTES,
  vectorsPerMessage,
  type MinSeq,
  type Subjects,
} from '../../protocol/index.js';
import { FACE_DIMENSIONS } from '../../index/vector/index.js';
import { FaceshardError } from './errors.js';
import { requestJson } from './request.js';
import { joinReplies, rangesWithin } from './split-query.js';
import { writeRetryDelayMs } from './write-retry.js';
import { clusterStatus, type ClusterStatus } from './status.js';

export { FaceshardError } from './errors.js';
export type { NatsSecurity };
export type { ClusterStatus };
/** The cluster's status from service discovery over a connection the caller holds (FaceshardClient.status over its own). */
export { clusterStatus };

export interface QueryOptions {
  k?: number;
  maxDistance?: number;
  /** Read-your-writes: pass an ingest reply's `seq` (or a stream sequence). */
  minSeq?: MinSeq;
  /** Approximate search; `effort` trades speed for recall (1 default, 8+ = exact). */
  approximate?: boolean;
  effort?: number;
  timeoutMs?: number;
  /**
   * Bytes a match is expected to take in the reply (the coordinator's QUERY_MATCH_BYTES):
   * a query is split so that each request's reply fits in one message.
   */
  matchBytes?: number;
}

const DEFAULT_MATCH_BYTES = 128;

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

  /** `security`: the identity's creds file and TLS files, where the cluster requires them. */
  static async connect(
    url: string,
    options: { prefix?: string; name?: string; security?: NatsSecurity; connectTimeoutMs?: number } = {},
  ): Promise<FaceshardClient> {
    // A person waits for the answer: 3.5 s (nats.js would wait 20), then what is wrong within 5 s.
    const nc = await connectAs(
      {
        servers: url.split(',').map((s) => s.trim()),
        name: options.name ?? 'faceshard-client',
        noAsyncTraces: true,
        timeout: options.connectTimeoutMs ?? 3500,
      },
      options.security ?? {},
    );
    return new FaceshardClient(nc, options.prefix ?? DEFAULT_SUBJECT_PREFIX);
  }

  /**
   * JSON form of `faces.query`, exactly what any NATS client would send. More vectors than
   * one request, or its reply, holds (the server's max_payload) go as several requests.
   */
  async query(vectors: ArrayLike<number>[], options: QueryOptions = {}): Promise<QueryReply> {
    const started = performance.now();
    const rows = vectors.map((v) => JSON.stringify(Array.from(v)));
    const rest = JSON.stringify({
      k: options.k ?? 1,
      ...(options.maxDistance !== undefined ? { maxDistance: options.maxDistance } : {}),
      ...(options.minSeq !== undefined ? { minSeq: options.minSeq } : {}),
      ...(options.approximate ? { approximate: true, ...(options.effort !== undefined ? { effort: options.effort } : {}) } : {}),
    }).slice(1);
    const { timeoutMs, headers, vectorsPerRequest } = this.queryRequestOptions(options);
    const ranges = rangesWithin(
      rows.map((r) => r.length + 1),
      bodyBudget(this.nc) - rest.length - 16,
      vectorsPerRequest,
    );
    const replies = await Promise.all(
      ranges.map(([start, end]) => {
        const body = `{"vectors":[${rows.slice(start, end).join(',')}]${rest.length > 1 ? ',' : ''}${rest}`;
        return requestJson(this.nc, this.subjects.query, encoder.encode(body), QueryReply, { timeoutMs, headers });
      }),
    );
    return joinReplies(replies, elapsedMs(started));
  }

  /** Binary form: float32 vectors back to back, k and max-distance in headers; split like `query`. */
  async queryBinary(vectors: Float32Array, options: QueryOptions = {}): Promise<QueryReply> {
    const started = performance.now();
    const { timeoutMs, headers, vectorsPerRequest } = this.queryRequestOptions(options);
    queryHeaders({ k: options.k ?? 1, maxDistance: options.maxDistance, approximate: options.approximate, effort: options.effort }, (key, value) =>
      headers.set(key, value),
    );
    if (options.minSeq !== undefined) headers.set('min-seq', JSON.stringify(options.minSeq));
    const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.length * 4);
    const ranges = rangesWithin(new Array<number>(Math.ceil(bytes.length / VECTOR_BYTES)).fill(VECTOR_BYTES), bodyBudget(this.nc), vectorsPerRequest);
    const replies = await Promise.all(
      ranges.map(([start, end]) =>
        requestJson(this.nc, this.subjects.query, bytes.subarray(start * VECTOR_BYTES, end * VECTOR_BYTES), QueryReply, { timeoutMs, headers }),
      ),
    );
    return joinReplies(replies, elapsedMs(started));
  }

  /** The timeout, the deadline header that tells the cluster when this client stops waiting, and how many vectors a request's reply holds. */
  private queryRequestOptions(options: QueryOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const headers = natsHeaders();
    headers.set(DEADLINE_HEADER, String(Date.now() + timeoutMs));
    const vectorsPerRequest = vectorsPerMessage(bodyBudget(this.nc), options.k ?? 1, options.matchBytes ?? DEFAULT_MATCH_BYTES);
    return { timeoutMs, headers, vectorsPerRequest };
  }

  /** One `faces.ingest` request; answers after JetStream acknowledged every accepted face. */
  ingest(faces: FaceToIngest[], timeoutMs = 60_000): Promise<IngestReply> {
    return requestJson(this.nc, this.subjects.ingest, encoder.encode(JSON.stringify({ faces: faces.map(faceJson) })), IngestReply, { timeoutMs });
  }

  /** One binary `faces.ingest` request (face-batch framing): no JSON numbers to print or parse. */
  ingestBinary(faces: FaceToIngest[], options: { timeoutMs?: number; batchId?: string } = {}): Promise<IngestReply> {
    const vectors = new Float32Array(faces.length * FACE_DIMENSIONS);
    faces.forEach((f, i) => vectors.set(f.vector, i * FACE_DIMENSIONS));
    const body = encodeFaceBatch({ op: 'upsert', ids: faces.map((f) => f.id), metas: faces.map((f) => f.meta ?? null), vectors });
    const h = natsHeaders();
    if (options.batchId) h.set('batch-id', options.batchId);
    return requestJson(this.nc, this.subjects.ingest, body, IngestReply, { timeoutMs: options.timeoutMs ?? 60_000, headers: h });
  }

  /**
   * Splits any number of faces into binary requests that fit the server's max payload
   * and sends a few at a time. Rejections come back with indexes into `faces`.
   */
  async ingestMany(faces: FaceToIngest[], options: { concurrency?: number; timeoutMs?: number } = {}): Promise<IngestReply> {
    const budget = Math.max(16 * 1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 8 * 1024);
    const chunks: Array<{ offset: number; faces: FaceToIngest[] }> = [];
    let current: FaceToIngest[] = [];
    let bytes = 64;
    let offset = 0;
    faces.forEach((face, i) => {
      // vector bytes + the id and meta as they appear in the JSON header (upper bound)
      const size = FACE_DIMENSIONS * 4 + Buffer.byteLength(face.id) * 2 + 8 + (face.meta ? Buffer.byteLength(JSON.stringify(face.meta)) : 4);
      if (current.length && (bytes + size > budget || current.length >= MAX_INGEST_FACES)) {
        chunks.push({ offset, faces: current });
        current = [];
        bytes = 64;
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
        const reply = await this.ingestWithRetries(chunk.faces, options.timeoutMs);
        total.accepted += reply.accepted;
        if (reply.duplicates) total.duplicates = (total.duplicates ?? 0) + reply.duplicates;
        for (const r of reply.rejected) total.rejected.push({ ...r, index: r.index + chunk.offset });
        for (const [shard, seq] of Object.entries(reply.seq)) total.seq[shard] = Math.max(total.seq[shard] ?? 0, seq);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, chunks.length) }, worker));
    total.rejected.sort((a, b) => a.index - b.index);
    return total;
  }

  /**
   * One binary ingest request, sent again with the same batch id after a transient failure
   * (write-retry.ts). A retry's duplicates are this batch's own records, stored by a try
   * that failed afterwards: they count as accepted.
   */
  private async ingestWithRetries(faces: FaceToIngest[], timeoutMs: number | undefined): Promise<IngestReply> {
    const batchId = nuid.next();
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.ingestBinary(faces, { timeoutMs, batchId });
        if (attempt === 0 || !reply.duplicates) return reply;
        return { ...reply, accepted: reply.accepted + reply.duplicates, duplicates: undefined };
      } catch (err) {
        const delayMs = writeRetryDelayMs(err, attempt);
        if (delayMs === undefined) throw err;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  delete(ids: string[], timeoutMs = 30_000): Promise<DeleteReply> {
    return requestJson(this.nc, this.subjects.delete, encoder.encode(JSON.stringify({ ids })), DeleteReply, { timeoutMs });
  }

  /** `faces.get`: the stored faces of `ids` (id, shard, meta), and which are not stored. */
  get(ids: string[], timeoutMs = 10_000): Promise<GetFacesReply> {
    return requestJson(this.nc, this.subjects.get, encoder.encode(JSON.stringify({ ids })), GetFacesReply, { timeoutMs });
  }

  /** `faces.list`: one page of stored faces by id (by prefix and/or person); ask again with `after: reply.next` for the next. */
  list(request: Partial<ListFacesRequest> = {}, timeoutMs = 10_000): Promise<ListFacesReply> {
    return requestJson(this.nc, this.subjects.list, encoder.encode(JSON.stringify(request)), ListFacesReply, { timeoutMs });
  }

  /** `faces.persons`: one page of persons by name with their face counts, and the faces without a person. */
  persons(request: Partial<PersonsRequest> = {}, timeoutMs = 10_000): Promise<PersonsReply> {
    return requestJson(this.nc, this.subjects.persons, encoder.encode(JSON.stringify(request)), PersonsReply, { timeoutMs });
  }

  /** `faces.delete-where`: deletes every face by id prefix and/or person (a whole photo, folder, dataset or person). */
  deleteWhere(filter: DeleteWhereRequest, timeoutMs = 120_000): Promise<DeleteWhereReply> {
    return requestJson(this.nc, this.subjects.deleteWhere, encoder.encode(JSON.stringify(filter)), DeleteWhereReply, { timeoutMs });
  }

  /** `faces.encode`: the faces in an image file (JPEG, PNG, WebP) with their boxes, scores and 128-d vectors; the file goes as one message. */
  async encode(image: Uint8Array, timeoutMs = 30_000): Promise<EncodeReply> {
    const budget = bodyBudget(this.nc);
    if (image.length > budget) {
      throw new FaceshardError(
        'too_large',
        `the image takes ${image.length} bytes; one NATS message holds ${budget} (the server's max_payload): send a smaller file`,
      );
    }
    try {
      return await requestJson(this.nc, this.subjects.encode, image, EncodeReply, { timeoutMs });
    } catch (err) {
      // requestJson names the coordinator; here no encoder is running (or it is still loading its models).
      if (err instanceof FaceshardError && err.code === 'no_responders') {
        throw new FaceshardError(
          'no_responders',
          `no encoder serves ${this.subjects.encode} (none started, or still loading its models): start one, or try again shortly`,
        );
      }
      throw err;
    }
  }

  status(timeoutMs?: number): Promise<ClusterStatus> {
    return clusterStatus(this.nc, timeoutMs);
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function faceJson(face: FaceToIngest) {
  // Send the exact float32 value (as a double) so the shard stores bit-identical vectors.
  const vector = Array.from(face.vector, (x) => (typeof x === 'number' ? Math.fround(x) : x));
  return face.meta === undefined ? { id: face.id, vector } : { id: face.id, vector, meta: face.meta };
}

export { FACE_DIMENSIONS };
