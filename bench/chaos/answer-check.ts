import type { Match } from '../../libs/protocol/index.js';
import { shardOf } from '../../libs/sharding/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';
import { possibleStates, type Ledger, type WriteRecord } from './ledger.js';

/** Distances agree within this (the cluster and this check both compute in floating point from the same stored vectors). */
const DISTANCE_TOLERANCE = 1e-4;

export interface AnsweredQuery {
  vectors: Float32Array;
  k: number;
  sentAt: number;
  answeredAt: number;
  results: Match[][];
  partial: boolean;
  /** Shards a partial answer lacks, and why (the reply's `missing`). */
  missingShards: number[];
  missingReasons: string[];
}

function distance(a: Float32Array, aOffset: number, b: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < FACE_DIMENSIONS; d++) {
    const diff = a[aOffset + d] - b[d];
    sum += diff * diff;
  }
  return Math.sqrt(sum);
}

/** The only state of a write history that needs no working out: one upsert, acknowledged before the query left. */
function simpleState(history: WriteRecord[], sentAt: number): Float32Array | undefined {
  if (history.length !== 1) return undefined;
  const r = history[0];
  return r.kind === 'upsert' && !r.failed && r.ackedAt !== undefined && r.ackedAt < sentAt ? r.vector : undefined;
}

/**
 * Is an answer one the cluster could honestly give? The rule: each query vector's matches
 * must be the top k of SOME state of the acknowledged writes at the time, where an id
 * written while the query was in flight (or whose write failed) may show any of its
 * possible states (possibleStates in ledger.ts), and every other id its one state. So:
 * every returned match is an id in one of its possible states at exactly that distance;
 * no id is returned twice; distances ascend; and no id with one certain live state lies
 * closer than the last match without being returned (for a partial answer, only ids of
 * shards that answered are held to that). Returns the problems found (empty: exact).
 */
export function checkAnswer(ledger: Ledger, query: AnsweredQuery, shardCount: number): string[] {
  const problems: string[] = [];
  const count = query.vectors.length / FACE_DIMENSIONS;
  if (query.results.length !== count) return [`${query.results.length} result lists for ${count} query vectors`];
  const missingShards = new Set(query.missingShards);
  for (let q = 0; q < count; q++) {
    const offset = q * FACE_DIMENSIONS;
    const matches = query.results[q];
    const returned = new Map<string, number>();
    matches.forEach((m, i) => {
      if (returned.has(m.id)) problems.push(`vector ${q}: ${m.id} returned twice`);
      returned.set(m.id, m.distance);
      if (i > 0 && m.distance < matches[i - 1].distance - DISTANCE_TOLERANCE) problems.push(`vector ${q}: distances out of order at rank ${i}`);
    });
    if (matches.length > query.k) problems.push(`vector ${q}: ${matches.length} matches for k=${query.k}`);
    const threshold = matches.length < query.k ? Number.POSITIVE_INFINITY : matches[matches.length - 1].distance;
    for (const id of returned.keys()) if (!ledger.histories.has(id)) problems.push(`vector ${q}: ${id} returned, but no such face was ever written`);

    for (const [id, history] of ledger.histories) {
      const simple = simpleState(history, query.sentAt);
      const got = returned.get(id);
      if (simple) {
        const d = distance(query.vectors, offset, simple);
        if (got !== undefined) {
          if (Math.abs(got - d) > DISTANCE_TOLERANCE) problems.push(`vector ${q}: ${id} at ${got.toFixed(5)}, its only vector is at ${d.toFixed(5)}`);
        } else if (d < threshold - DISTANCE_TOLERANCE && !missingShards.has(shardOf(id, shardCount))) {
          problems.push(`vector ${q}: ${id} (acknowledged before the query) at ${d.toFixed(5)} is missing; the last match is at ${threshold.toFixed(5)}`);
        }
        continue;
      }
      const { states, certain } = possibleStates(history, query.sentAt, query.answeredAt);
      if (got !== undefined) {
        const explained = states.some((v) => v !== null && Math.abs(distance(query.vectors, offset, v) - got) <= DISTANCE_TOLERANCE);
        if (!explained)
          problems.push(
            `vector ${q}: ${id} at ${got.toFixed(5)} matches none of its possible states (${states.map((v) => (v ? distance(query.vectors, offset, v).toFixed(5) : 'absent')).join(', ')})`,
          );
      } else if (certain && states[0] !== null && !missingShards.has(shardOf(id, shardCount))) {
        const d = distance(query.vectors, offset, states[0]);
        if (d < threshold - DISTANCE_TOLERANCE)
          problems.push(`vector ${q}: ${id} (settled) at ${d.toFixed(5)} is missing; the last match is at ${threshold.toFixed(5)}`);
      }
    }
  }
  return problems;
}
