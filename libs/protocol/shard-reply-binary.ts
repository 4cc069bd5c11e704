import { MAX_QUERY_VECTORS } from './query.js';
import type { ShardReply } from './shard-leg.js';

/**
 * Binary form of a scatter leg's reply (what a shard sends the coordinator when the
 * leg asks for it with `reply-format: binary`): distances as float64, ids (and metas,
 * when any face has one) as one JSON array each. The JSON form of the same reply costs
 * an object per match to print, parse and schema-check on both sides.
 *
 *   0  "FSR1"                 magic
 *   4  u32 LE shard
 *   8  f64 LE faces
 *  16  f64 LE appliedSeq
 *  24  u32 LE queries (Q)
 *  28  u32 LE jsonBytes
 *  32  u32 LE count[Q]        matches of each query
 *   …  zero padding to a multiple of 8
 *   …  f64 LE distance[sum of counts]   query by query, nearest first
 *   …  JSON                   {"ids": [...], "metas": [...]}  (metas only when some match has one)
 */
export const SHARD_REPLY_BINARY_CONTENT_TYPE = 'application/x-faceshard-leg-reply';
/** The leg header that asks a shard for the binary reply. */
export const REPLY_FORMAT_HEADER = 'reply-format';

const MAGIC = 0x31525346; // "FSR1" read as u32 LE
const HEADER_BYTES = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ShardReplyFormatError extends Error {
  override name = 'ShardReplyFormatError';
}

export function encodeShardReplyBinary(reply: ShardReply): Uint8Array {
  const queries = reply.results.length;
  let total = 0;
  let withMeta = false;
  for (const list of reply.results) {
    total += list.length;
    for (const m of list) if (m.meta !== undefined) withMeta = true;
  }
  const ids = new Array<string>(total);
  const metas = withMeta ? new Array<unknown>(total) : undefined;
  let at = 0;
  for (const list of reply.results) {
    for (const m of list) {
      ids[at] = m.id;
      if (metas) metas[at] = m.meta ?? null;
      at++;
    }
  }
  const json = encoder.encode(JSON.stringify(metas ? { ids, metas } : { ids }));
  const distancesStart = align8(HEADER_BYTES + queries * 4);
  const jsonStart = distancesStart + total * 8;
  const out = new Uint8Array(jsonStart + json.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, reply.shard, true);
  view.setFloat64(8, reply.faces, true);
  view.setFloat64(16, reply.appliedSeq, true);
  view.setUint32(24, queries, true);
  view.setUint32(28, json.length, true);
  at = 0;
  for (let q = 0; q < queries; q++) {
    const list = reply.results[q];
    view.setUint32(HEADER_BYTES + q * 4, list.length, true);
    for (const m of list) view.setFloat64(distancesStart + 8 * at++, m.distance, true);
  }
  out.set(json, jsonStart);
  return out;
}

/** The reply, checked: a malformed body throws ShardReplyFormatError naming what is wrong. */
export function decodeShardReplyBinary(data: Uint8Array): ShardReply {
  if (data.length < HEADER_BYTES) throw new ShardReplyFormatError(`binary leg reply: ${data.length} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new ShardReplyFormatError('binary leg reply: bad magic (expected "FSR1")');
  const shard = view.getUint32(4, true);
  const faces = view.getFloat64(8, true);
  const appliedSeq = view.getFloat64(16, true);
  const queries = view.getUint32(24, true);
  const jsonBytes = view.getUint32(28, true);
  if (!Number.isSafeInteger(faces) || faces < 0) throw new ShardReplyFormatError(`binary leg reply: faces ${faces} is not a count`);
  if (!Number.isSafeInteger(appliedSeq) || appliedSeq < 0) throw new ShardReplyFormatError(`binary leg reply: appliedSeq ${appliedSeq} is not a sequence`);
  if (queries > MAX_QUERY_VECTORS) throw new ShardReplyFormatError(`binary leg reply: ${queries} queries, at most ${MAX_QUERY_VECTORS}`);
  if (data.length < HEADER_BYTES + queries * 4) throw new ShardReplyFormatError('binary leg reply: truncated in its counts');
  const counts = new Array<number>(queries);
  let total = 0;
  for (let q = 0; q < queries; q++) {
    counts[q] = view.getUint32(HEADER_BYTES + q * 4, true);
    total += counts[q];
  }
  const distancesStart = align8(HEADER_BYTES + queries * 4);
  const jsonStart = distancesStart + total * 8;
  if (jsonStart + jsonBytes !== data.length)
    throw new ShardReplyFormatError(`binary leg reply: ${data.length} bytes, its header says ${jsonStart + jsonBytes}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data.subarray(jsonStart)));
  } catch (err) {
    throw new ShardReplyFormatError(`binary leg reply: ids are not JSON (${(err as Error).message})`);
  }
  const { ids, metas } = (parsed ?? {}) as { ids?: unknown; metas?: unknown };
  if (!Array.isArray(ids) || ids.length !== total) throw new ShardReplyFormatError(`binary leg reply: expected ${total} ids`);
  if (metas !== undefined && (!Array.isArray(metas) || metas.length !== total)) throw new ShardReplyFormatError(`binary leg reply: expected ${total} metas`);
  const results: ShardReply['results'] = new Array(queries);
  let at = 0;
  for (let q = 0; q < queries; q++) {
    const list: ShardReply['results'][number] = new Array(counts[q]);
    for (let i = 0; i < counts[q]; i++, at++) {
      const id = ids[at];
      const distance = view.getFloat64(distancesStart + 8 * at, true);
      if (typeof id !== 'string') throw new ShardReplyFormatError(`binary leg reply: id ${at} is not a string`);
      if (!(distance >= 0) || distance === Infinity) throw new ShardReplyFormatError(`binary leg reply: distance ${at} is ${distance}`);
      const meta = metas === undefined ? null : (metas as unknown[])[at];
      list[i] = meta === null || meta === undefined ? { id, distance } : { id, distance, meta };
    }
    results[q] = list;
  }
  return { shard, faces, appliedSeq, results };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
