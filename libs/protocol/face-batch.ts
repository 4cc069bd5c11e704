import { FACE_DIMENSIONS } from '../index/vector/index.js';

/**
 * Binary framing for a batch of faces (or ids), used for fast ingest requests and for
 * shard log records. JSON numbers cost ~2.5 KB and a parse per face; this is 512 bytes
 * of float32 copied once.
 *
 *   0  "FSB1"            magic
 *   4  u8 op             1 = upsert, 2 = delete
 *   5  u8[3]             reserved (0)
 *   8  u32 LE count
 *  12  u32 LE jsonBytes
 *  16  JSON              {"ids": [...], "metas": [...|null]}  (metas only for upserts)
 *   …  zero padding to a multiple of 4
 *   …  count × 128 float32 LE (upserts only)
 */
const MAGIC = [0x46, 0x53, 0x42, 0x31]; // FSB1
const HEADER_BYTES = 16;
export const OP_UPSERT = 1;
export const OP_DELETE = 2;

export type FaceBatch = { op: 'upsert'; ids: string[]; metas: (Record<string, unknown> | null)[]; vectors: Float32Array } | { op: 'delete'; ids: string[] };

export class FaceBatchError extends Error {
  override name = 'FaceBatchError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFaceBatch(batch: FaceBatch): Uint8Array {
  if (batch.op === 'delete') return frame(OP_DELETE, batch.ids.length, JSON.stringify({ ids: batch.ids }), Infinity)!.out;
  const vectorBytes = batch.ids.length * FACE_DIMENSIONS * 4;
  if (batch.vectors.length < batch.ids.length * FACE_DIMENSIONS) {
    throw new FaceBatchError(`${batch.ids.length} ids but only ${batch.vectors.length / FACE_DIMENSIONS} vectors`);
  }
  const { out, vectorStart } = frame(OP_UPSERT, batch.ids.length, JSON.stringify({ ids: batch.ids, metas: batch.metas }), Infinity)!;
  out.set(new Uint8Array(batch.vectors.buffer, batch.vectors.byteOffset, vectorBytes), vectorStart);
  return out;
}

/**
 * Encodes an upsert batch straight from faces (one copy of each vector, no intermediate
 * array), or returns undefined when it would exceed `maxBytes`: the coordinator's hot path.
 */
export function encodeUpsertFaces(
  faces: ReadonlyArray<{ id: string; vector: Float32Array; meta?: Record<string, unknown> }>,
  maxBytes = Infinity,
): Uint8Array | undefined {
  const ids = new Array<string>(faces.length);
  const metas = new Array<Record<string, unknown> | null>(faces.length);
  for (let i = 0; i < faces.length; i++) {
    ids[i] = faces[i].id;
    metas[i] = faces[i].meta ?? null;
  }
  const framed = frame(OP_UPSERT, faces.length, JSON.stringify({ ids, metas }), maxBytes);
  if (!framed) return undefined;
  const vectors = new Float32Array(framed.out.buffer, framed.vectorStart, faces.length * FACE_DIMENSIONS);
  for (let i = 0; i < faces.length; i++) vectors.set(faces[i].vector, i * FACE_DIMENSIONS);
  return framed.out;
}

/** Allocates a batch and writes its header and JSON; the caller fills the vectors (upserts). */
function frame(op: number, count: number, headerJson: string, maxBytes: number): { out: Uint8Array; vectorStart: number } | undefined {
  const json = encoder.encode(headerJson);
  const vectorStart = align4(HEADER_BYTES + json.length);
  const total = vectorStart + (op === OP_UPSERT ? count * FACE_DIMENSIONS * 4 : 0);
  if (total > maxBytes) return undefined;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[4] = op;
  const view = new DataView(out.buffer);
  view.setUint32(8, count, true);
  view.setUint32(12, json.length, true);
  out.set(json, HEADER_BYTES);
  return { out, vectorStart };
}

export function isFaceBatch(data: Uint8Array): boolean {
  return data.length >= HEADER_BYTES && MAGIC.every((b, i) => data[i] === b);
}

/** Decodes the framing; the caller validates ids, metas and vector values. */
export function decodeFaceBatch(data: Uint8Array): FaceBatch {
  if (!isFaceBatch(data)) throw new FaceBatchError('not a face batch (bad magic or too short)');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const op = data[4];
  const count = view.getUint32(8, true);
  const jsonBytes = view.getUint32(12, true);
  if (HEADER_BYTES + jsonBytes > data.length) throw new FaceBatchError(`header says ${jsonBytes} JSON bytes, the batch has ${data.length - HEADER_BYTES}`);
  let header: { ids?: unknown; metas?: unknown };
  try {
    header = JSON.parse(decoder.decode(data.subarray(HEADER_BYTES, HEADER_BYTES + jsonBytes)));
  } catch (err) {
    throw new FaceBatchError(`batch header is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(header.ids) || header.ids.length !== count) throw new FaceBatchError(`batch header must list ${count} ids`);
  const ids = header.ids as string[];
  if (op === OP_DELETE) return { op: 'delete', ids };
  if (op !== OP_UPSERT) throw new FaceBatchError(`unknown batch op ${op}`);
  const metas = header.metas;
  if (!Array.isArray(metas) || metas.length !== count) throw new FaceBatchError(`batch header must list ${count} metas (null where none)`);
  const vectorStart = align4(HEADER_BYTES + jsonBytes);
  const vectorBytes = count * FACE_DIMENSIONS * 4;
  if (data.length !== vectorStart + vectorBytes)
    throw new FaceBatchError(`batch of ${count} faces must be ${vectorStart + vectorBytes} bytes, got ${data.length}`);
  const vectors = new Float32Array(count * FACE_DIMENSIONS);
  new Uint8Array(vectors.buffer).set(data.subarray(vectorStart)); // copy: aligned, and outlives the message
  return { op: 'upsert', ids, metas: metas as (Record<string, unknown> | null)[], vectors };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
