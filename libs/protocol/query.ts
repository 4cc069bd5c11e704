import { z } from 'zod';
import { FACE_DIMENSIONS, FaceVector } from '../index/vector/index.js';
import { describeIssues, ProtocolError } from './errors.js';
import { parseJsonBody } from './json-body.js';

export const MAX_K = 1000;
export const MAX_QUERY_VECTORS = 4096;

export const K = z.number().int('k must be a whole number').min(1, 'k must be at least 1').max(MAX_K, `k must be at most ${MAX_K}`);
export const MaxDistance = z.number().positive('maxDistance must be > 0');
/**
 * Approximate effort: 1 is the default trade (recall@1 ~0.99 on the benchmark data), higher
 * probes more of the index (slower, fewer misses), 8 or more probes everything (exact).
 */
export const Effort = z.number().positive('effort must be > 0').max(64, 'effort must be at most 64');

/**
 * Read-your-writes: a number is a stream sequence (every shard first applies all of its
 * log up to it); a map is what ingest answered (`seq`: per shard, the sequence to reach).
 */
export const MinSeq = z.union([z.number().int().min(0), z.record(z.string().regex(/^\d+$/, 'minSeq keys are shard numbers'), z.number().int().min(0))]);
export type MinSeq = z.infer<typeof MinSeq>;

/** `faces.query`, JSON form. */
export const QueryRequest = z.strictObject({
  vectors: z.array(FaceVector).min(1, 'vectors must hold at least one vector').max(MAX_QUERY_VECTORS, `at most ${MAX_QUERY_VECTORS} vectors per request`),
  k: K.default(1),
  maxDistance: MaxDistance.optional(),
  minSeq: MinSeq.optional(),
  /** Approximate search (an IVF index per shard): much faster, recall measured, not assumed. */
  approximate: z.boolean().optional(),
  effort: Effort.optional(),
});
export type QueryRequest = z.infer<typeof QueryRequest>;

export const Match = z.strictObject({
  id: z.string(),
  distance: z.number(),
  shard: z.number().int(),
  meta: z.unknown().optional(),
});
export type Match = z.infer<typeof Match>;

export const QueryReply = z.strictObject({
  results: z.array(z.array(Match)),
  shards: z.strictObject({ total: z.number().int(), answered: z.number().int() }),
  partial: z.boolean(),
  /** Present when partial: which shards are missing from the answer, and why. */
  missing: z.array(z.strictObject({ shard: z.number().int(), reason: z.string() })).optional(),
  /** Faces held by the shards that answered: what was searched, for the seed-style rate. */
  searched: z.number().int(),
  tookMs: z.number(),
});
export type QueryReply = z.infer<typeof QueryReply>;

/** A parsed query, vectors packed for the index and for the binary shard legs. */
export interface Query {
  vectors: Float32Array;
  count: number;
  k: number;
  maxDistance?: number;
  minSeq?: MinSeq;
  approximate?: boolean;
  effort?: number;
  /** Epoch ms when the asker stops waiting (deadline.ts). */
  deadline?: number;
}

export const BINARY_CONTENT_TYPE = 'application/x-faceshard-f32le';

/** Minimal view of NATS headers so this module does not depend on the client. */
export interface HeaderView {
  get(key: string): string;
}

/** `faces.query` in either form: binary when the content-type header says so, else JSON. */
export function parseQuery(data: Uint8Array, headers: HeaderView | undefined): Query {
  return headers?.get('content-type') === BINARY_CONTENT_TYPE ? parseQueryBinary(data, headers) : parseQueryJson(data);
}

export function parseQueryJson(data: Uint8Array): Query {
  const parsed = QueryRequest.safeParse(parseJsonBody(data, 'query'));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, 'query'));
  const { vectors, k, maxDistance, minSeq, approximate, effort } = parsed.data;
  if (effort !== undefined && !approximate) throw new ProtocolError('bad_request', 'invalid query: effort: only with "approximate": true');
  const packed = new Float32Array(vectors.length * FACE_DIMENSIONS);
  vectors.forEach((v, i) => packed.set(v, i * FACE_DIMENSIONS));
  return { vectors: packed, count: vectors.length, k, maxDistance, minSeq, ...(approximate ? { approximate, effort } : {}) };
}

/**
 * Binary form: body = little-endian float32 vectors back to back, `k`,
 * `max-distance` and `min-seq` (a number or a JSON map) in headers. Used by fast clients.
 */
export function parseQueryBinary(data: Uint8Array, headers: HeaderView): Query {
  const vectorBytes = FACE_DIMENSIONS * 4;
  if (data.length === 0 || data.length % vectorBytes !== 0) {
    throw new ProtocolError(
      'bad_request',
      `binary query: body is ${data.length} bytes, expected a non-zero multiple of ${vectorBytes} (float32 x ${FACE_DIMENSIONS})`,
    );
  }
  const count = data.length / vectorBytes;
  if (count > MAX_QUERY_VECTORS) throw new ProtocolError('bad_request', `binary query: ${count} vectors, at most ${MAX_QUERY_VECTORS}`);
  const vectors = new Float32Array(count * FACE_DIMENSIONS);
  new Uint8Array(vectors.buffer).set(data); // copy: aligned, and independent of the message buffer (little-endian hosts)
  for (let i = 0; i < vectors.length; i++) {
    if (!Number.isFinite(vectors[i])) {
      throw new ProtocolError('bad_request', `binary query: vector ${Math.floor(i / FACE_DIMENSIONS)} element ${i % FACE_DIMENSIONS} is ${vectors[i]}`);
    }
  }
  const k = K.safeParse(Number(headers.get('k') || '1'));
  if (!k.success) throw new ProtocolError('bad_request', `binary query: header k: ${k.error.issues[0].message}`);
  const maxHeader = headers.get('max-distance');
  let maxDistance: number | undefined;
  if (maxHeader) {
    const md = MaxDistance.safeParse(Number(maxHeader));
    if (!md.success) throw new ProtocolError('bad_request', `binary query: header max-distance: ${md.error.issues[0].message}`);
    maxDistance = md.data;
  }
  const minSeqHeader = headers.get('min-seq');
  let minSeq: MinSeq | undefined;
  if (minSeqHeader) {
    let raw: unknown;
    try {
      raw = JSON.parse(minSeqHeader);
    } catch {
      raw = minSeqHeader;
    }
    const ms = MinSeq.safeParse(raw);
    if (!ms.success) throw new ProtocolError('bad_request', `binary query: header min-seq must be a sequence number or a JSON map of shard -> sequence`);
    minSeq = ms.data;
  }
  const approximate = headers.get('approximate');
  if (approximate && approximate !== '1' && approximate !== 'true')
    throw new ProtocolError('bad_request', 'binary query: header approximate must be 1 or true');
  let effort: number | undefined;
  const effortHeader = headers.get('effort');
  if (effortHeader) {
    const e = Effort.safeParse(Number(effortHeader));
    if (!e.success) throw new ProtocolError('bad_request', `binary query: header effort: ${e.error.issues[0].message}`);
    if (!approximate) throw new ProtocolError('bad_request', 'binary query: header effort only goes with approximate');
    effort = e.data;
  }
  return { vectors, count, k: k.data, maxDistance, minSeq, ...(approximate ? { approximate: true, effort } : {}) };
}

/** Headers of the binary form for a query (what the coordinator sends to shards, and fast clients send). */
export function queryHeaders(query: Pick<Query, 'k' | 'maxDistance' | 'approximate' | 'effort'>, set: (key: string, value: string) => void): void {
  set('content-type', BINARY_CONTENT_TYPE);
  set('k', String(query.k));
  if (query.maxDistance !== undefined) set('max-distance', String(query.maxDistance));
  if (query.approximate) set('approximate', '1');
  if (query.effort !== undefined) set('effort', String(query.effort));
}

export function queryToBinary(query: Query): Uint8Array {
  return new Uint8Array(query.vectors.buffer, query.vectors.byteOffset, query.count * FACE_DIMENSIONS * 4);
}
