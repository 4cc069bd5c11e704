import { z } from 'zod';
import { idProblem, vectorProblem } from '../index/vector/index.js';

export const MAX_META_BYTES = 4096;
const OVERSIZED_META = `meta must serialize to at most ${MAX_META_BYTES} bytes`;

const MetaRecord = z.record(z.string(), z.unknown());
const metaBytes = (meta: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(meta));

export const FaceMeta = MetaRecord.refine((meta) => metaBytes(meta) <= MAX_META_BYTES, OVERSIZED_META);

/** What is wrong with a face, as a metric label: its id, its vector (length, finiteness, range), its meta's shape or size. */
export type FaceProblemKind = 'bad_id' | 'bad_vector' | 'bad_meta' | 'oversized_meta';
export interface FaceProblem {
  kind: FaceProblemKind;
  message: string;
}

/**
 * The checks of IngestFace for a face held outside JSON (binary ingest, and a shard
 * reading its log): the same rules, without zod on every vector. `meta` null or
 * undefined: the face has none.
 */
export function faceProblem(id: unknown, vector: ArrayLike<number>, meta: unknown): FaceProblem | undefined {
  const idIssue = idProblem(id);
  if (idIssue !== undefined) return { kind: 'bad_id', message: idIssue };
  const vectorIssue = vectorProblem(vector);
  if (vectorIssue !== undefined) return { kind: 'bad_vector', message: vectorIssue };
  if (meta === null || meta === undefined) return undefined;
  const shape = MetaRecord.safeParse(meta);
  if (!shape.success) return { kind: 'bad_meta', message: `meta: ${shape.error.issues[0]?.message}` };
  if (metaBytes(shape.data) > MAX_META_BYTES) return { kind: 'oversized_meta', message: `meta: ${OVERSIZED_META}` };
  return undefined;
}
