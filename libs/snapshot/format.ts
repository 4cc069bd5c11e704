import { z } from 'zod';

/**
 * A shard replica's snapshot file:
 *
 *   "FSNAP001"                 8-byte magic
 *   u32 LE headerBytes, header JSON (SnapshotHeader)
 *   faces × dims float32 LE    the vectors, row order
 *   u32 LE namesBytes, JSON    [ids[], metas[]]
 *   sha256 of everything above (32 bytes)
 *
 * Written to a temp file, fsynced, then renamed: a reader sees the old file or the new
 * one, never half of one; the checksum catches what the disk did afterwards.
 */
export const SNAPSHOT_MAGIC = Buffer.from('FSNAP001', 'latin1');
export const CHECKSUM_BYTES = 32;

export const SnapshotHeader = z.strictObject({
  version: z.literal(1),
  shard: z.number().int().min(0),
  /** The stream this snapshot replays from, and its creation time: a recreated stream invalidates it. */
  stream: z.string(),
  streamCreated: z.string(),
  appliedSeq: z.number().int().min(0),
  faces: z.number().int().min(0),
  dims: z.number().int().min(1),
  createdAt: z.string(),
});
export type SnapshotHeader = z.infer<typeof SnapshotHeader>;

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export function snapshotFileName(shard: number): string {
  return `shard-${shard}.snapshot`;
}
