import { z } from 'zod';

/**
 * A shard replica's snapshot file. Version 3 (written now):
 *
 *   "FSNAP003"                   8-byte magic
 *   u32 LE headerBytes, header JSON (SnapshotHeader, version 3; padded to 4-byte alignment)
 *   faces × dims int16 LE        the rows as the index stores them (value = code × 2^-14),
 *                                in its row order; 2 zero bytes when that is not a
 *                                multiple of 4 bytes
 *   when header.ivf is set (the index's approximate-search lists):
 *     faces × int32 LE           each row's IVF list (-1: not assigned yet);
 *                                rows 0..ivf.listedRows-1 are sorted by list
 *     ivf.lists × dims float32   leaf centroids (grouped)
 *     ivf.groups × dims float32  group centroids
 *     (ivf.groups + 1) × int32   first leaf of each group, then ivf.lists
 *   when header.prefilter is set (the int8 pre-filter was ready):
 *     dims float64               its offset
 *     prefixDims × dims float64  its principal axes
 *     rankAxes × 16 float64      the 4-bit ranker's levels
 *     faces float32              each row's miss
 *     faces × codeDims int8      each row's prefix codes
 *     faces × rankAxes/2 bytes   each row's packed 4-bit codes, then zero bytes to a multiple of 4
 *   u32 LE namesBytes, JSON      [ids[], metas[]]
 *   sha256 of everything above (32 bytes)
 *
 * Loading a v3 file needs no IVF training, no sorting, no float-to-int16 rounding and no
 * pre-filter learning or coding (measured at 2,500,000 faces: bench/snapshot-load). Version 2
 * ("FSNAP002") holds float32 vectors and no pre-filter section, version 1 ("FSNAP001") not
 * the IVF either; both are still read (the index then rounds the vectors, learns the
 * pre-filter and, for v1, trains its lists).
 *
 * Written to a temp file, fsynced, then renamed: a reader sees the old file or the new
 * one, never half of one; the checksum catches what the disk did afterwards.
 */
export const SNAPSHOT_MAGIC_V1 = Buffer.from('FSNAP001', 'latin1');
export const SNAPSHOT_MAGIC_V2 = Buffer.from('FSNAP002', 'latin1');
export const SNAPSHOT_MAGIC_V3 = Buffer.from('FSNAP003', 'latin1');
/** The magic and version written now. */
export const SNAPSHOT_MAGIC = SNAPSHOT_MAGIC_V3;
export const SNAPSHOT_VERSION = 3;
export const CHECKSUM_BYTES = 32;

const common = {
  shard: z.number().int().min(0),
  /** The stream this snapshot replays from, and its creation time: a recreated stream invalidates it. */
  stream: z.string(),
  streamCreated: z.string(),
  /**
   * The stream's first sequence when the snapshot was taken (at least 1): a log purged
   * since no longer holds what the snapshot was built from. Absent in older snapshots.
   */
  streamFirstSeq: z.number().int().min(1).optional(),
  appliedSeq: z.number().int().min(0),
  faces: z.number().int().min(0),
  dims: z.number().int().min(1),
  createdAt: z.string(),
};

export const SnapshotHeaderV1 = z.strictObject({ version: z.literal(1), ...common });

export const SnapshotIvfHeader = z.strictObject({
  lists: z.number().int().min(1),
  groups: z.number().int().min(1),
  listedRows: z.number().int().min(0),
  trainedRows: z.number().int().min(0),
});
export type SnapshotIvfHeader = z.infer<typeof SnapshotIvfHeader>;

export const SnapshotHeaderV2 = z.strictObject({ version: z.literal(2), ...common, ivf: SnapshotIvfHeader.nullable() });

export const SnapshotPrefilterHeader = z.strictObject({
  prefixDims: z.number().int().min(1),
  codeDims: z.number().int().min(1),
  rankAxes: z.number().int().min(2).multipleOf(2),
  learnedRows: z.number().int().min(0),
  prefixSd: z.number().min(0),
});
export type SnapshotPrefilterHeader = z.infer<typeof SnapshotPrefilterHeader>;

export const SnapshotHeaderV3 = z.strictObject({
  version: z.literal(3),
  ...common,
  ivf: SnapshotIvfHeader.nullable(),
  prefilter: SnapshotPrefilterHeader.nullable(),
});

export const SnapshotHeader = z.discriminatedUnion('version', [SnapshotHeaderV1, SnapshotHeaderV2, SnapshotHeaderV3]);
export type SnapshotHeader = z.infer<typeof SnapshotHeader>;

/** What the writer's caller says about a snapshot (the rest of the header is derived). */
export interface SnapshotIdentity {
  shard: number;
  stream: string;
  streamCreated: string;
  streamFirstSeq?: number;
  appliedSeq: number;
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export function snapshotFileName(shard: number): string {
  return `shard-${shard}.snapshot`;
}
