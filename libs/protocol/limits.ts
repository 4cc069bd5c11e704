import { FACE_DIMENSIONS } from '../index/vector/index.js';

/** Bytes one query vector takes in a binary query or leg (float32 x 128). */
export const VECTOR_BYTES = FACE_DIMENSIONS * 4;
/** Room left in every message for its headers. */
export const HEADER_ROOM = 4096;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Body bytes one message may carry on a connection: its server's max_payload (read from
 * the connection, 1 MB by default) less room for headers. Every request and every reply
 * is one message (allow_responses grants one reply a request).
 */
export function bodyBudget(nc: { info?: { max_payload: number } }): number {
  return Math.max(HEADER_ROOM, (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM);
}

/**
 * Bytes a reply of `vectors` x `k` matches is expected to take, at `matchBytes` a match
 * (distance, id and meta: an estimate; a reply that turns out larger is refused `too_large`).
 */
export function expectedReplyBytes(vectors: number, k: number, matchBytes: number): number {
  return 64 + vectors * (8 + k * matchBytes);
}

/** Vectors one request may carry at `k` so that it, and its expected reply, fit in `bodyBytes` (at least 1). */
export function vectorsPerMessage(bodyBytes: number, k: number, matchBytes: number): number {
  const byRequest = Math.floor(bodyBytes / VECTOR_BYTES);
  const byReply = Math.floor((bodyBytes - 64) / (8 + k * matchBytes));
  return Math.max(1, Math.min(byRequest, byReply));
}

/** What one faces.query request may cost before any search; over it: `too_large`. */
export interface CostCap {
  /** vectors x k */
  maxMatches: number;
  /** expectedReplyBytes at matchBytes */
  maxReplyBytes: number;
  matchBytes: number;
}

/** Why a query of `vectors` x `k` is over the cap, or undefined when it is within. */
export function overCostCap(vectors: number, k: number, cap: CostCap): string | undefined {
  const matches = vectors * k;
  if (matches > cap.maxMatches) return `${vectors} vectors x k ${k} = ${matches} matches, at most ${cap.maxMatches} a request (split the query, or lower k)`;
  const bytes = expectedReplyBytes(vectors, k, cap.matchBytes);
  if (bytes > cap.maxReplyBytes)
    return `the reply would take about ${bytes} bytes (${cap.matchBytes} a match), at most ${cap.maxReplyBytes} a request (split the query, or lower k)`;
  return undefined;
}
