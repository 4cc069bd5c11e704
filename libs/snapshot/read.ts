import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FaceIndexIvfState, FaceIndexPrefilterState, FaceIndexState } from '../index/face-index/index.js';
import { INT16_ROW_SCALE } from '../index/simd-kernel/index.js';
import { readHashed } from './read-hashed.js';
import { CHECKSUM_BYTES, SNAPSHOT_MAGIC_V1, SNAPSHOT_MAGIC_V2, SNAPSHOT_MAGIC_V3, SnapshotError, SnapshotHeader, snapshotFileName } from './format.js';

export interface Snapshot {
  header: SnapshotHeader;
  /** Version 3: the rows' int16 codes (faces × dims). */
  rows?: Int16Array;
  /** Versions 1 and 2: float32 vectors (faces × dims). */
  vectors?: Float32Array;
  ids: string[];
  metas: unknown[];
  /** The IVF (version 2 and 3 files of an index that had one). */
  ivf?: FaceIndexIvfState;
  /** The pre-filter's parameters and codes (version 3 files of an index whose pre-filter was ready). */
  prefilter?: FaceIndexPrefilterState;
}

/** Reads and verifies a snapshot; undefined when there is none, SnapshotError when it is damaged. */
export async function readSnapshot(dir: string, shard: number): Promise<Snapshot | undefined> {
  const file = path.join(dir, snapshotFileName(shard));
  let read: { data: Buffer; digest: Buffer };
  try {
    read = await readHashed(file, CHECKSUM_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseSnapshot(read.data, file, read.digest);
}

/** The snapshot as a `FaceIndex.importState` argument (adopts its arrays). */
export function snapshotState(snapshot: Snapshot): FaceIndexState {
  const state: FaceIndexState = { dimensions: snapshot.header.dims, ids: snapshot.ids, metas: snapshot.metas };
  if (snapshot.rows) state.rows = snapshot.rows;
  if (snapshot.vectors) state.vectors = snapshot.vectors;
  if (snapshot.ivf) state.ivf = snapshot.ivf;
  if (snapshot.prefilter) state.prefilter = snapshot.prefilter;
  return state;
}

/** The snapshot's faces as float32 vectors (faces × dims), whichever way its version stores them. */
export function snapshotVectors(snapshot: Snapshot): Float32Array {
  if (snapshot.vectors) return snapshot.vectors;
  const rows = snapshot.rows!;
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[i] * INT16_ROW_SCALE;
  return out;
}

/** Verifies and decodes a snapshot file's bytes; `bodyDigest`: the sha256 of all but the checksum when the caller computed it while reading. */
export function parseSnapshot(data: Buffer, name: string, bodyDigest?: Buffer): Snapshot {
  const fail = (why: string): never => {
    throw new SnapshotError(`${name}: ${why}`);
  };
  if (data.length < SNAPSHOT_MAGIC_V1.length + 8 + CHECKSUM_BYTES) fail(`${data.length} bytes is too short to be a snapshot (truncated?)`);
  const magic = data.subarray(0, SNAPSHOT_MAGIC_V1.length);
  const fileVersion = MAGICS.findIndex((m) => magic.equals(m)) + 1 || fail('not a faceshard snapshot (bad magic)');
  const body = data.subarray(0, data.length - CHECKSUM_BYTES);
  const digest = bodyDigest ?? createHash('sha256').update(body).digest();
  if (!digest.equals(data.subarray(data.length - CHECKSUM_BYTES))) fail('checksum mismatch (truncated or corrupted)');

  let offset = SNAPSHOT_MAGIC_V1.length;
  const headerBytes = body.readUInt32LE(offset);
  offset += 4;
  let header: SnapshotHeader;
  try {
    header = SnapshotHeader.parse(JSON.parse(body.subarray(offset, offset + headerBytes).toString('utf8')));
  } catch (err) {
    return fail(`bad header: ${(err as Error).message}`);
  }
  if (header.version !== fileVersion) fail(`header says version ${header.version}, the magic ${fileVersion}`);
  offset += headerBytes;
  const { faces, dims } = header;
  /**
   * The next `count` values of `type`: a view of the file's memory when aligned (the
   * writer pads for that), else a copy.
   */
  const take = <T extends TypedArray>(type: TypedArrayType<T>, count: number, what: string): T => {
    const bytes = count * type.BYTES_PER_ELEMENT;
    if (offset + bytes + 4 > body.length) fail(`the file is too short for ${what}`);
    const at = body.byteOffset + offset;
    offset += bytes;
    if (at % type.BYTES_PER_ELEMENT === 0) return new type(body.buffer, at, count);
    const out = new type(count);
    new Uint8Array(out.buffer, out.byteOffset, bytes).set(body.subarray(offset - bytes, offset));
    return out;
  };
  const toFour = () => (offset += (4 - (offset % 4)) % 4);
  const snapshot: Snapshot = { header, ids: [], metas: [] };
  if (header.version === 3) {
    snapshot.rows = take(Int16Array, faces * dims, `${faces} faces`);
    toFour();
  } else snapshot.vectors = take(Float32Array, faces * dims, `${faces} faces`);
  const ivfHeader = header.version === 1 ? null : header.ivf;
  if (ivfHeader) {
    const h = ivfHeader;
    if (h.listedRows > faces) fail(`${h.listedRows} listed rows of ${faces} faces`);
    const rowLists = take(Int32Array, faces, "the rows' lists");
    const centroids = take(Float32Array, h.lists * dims, 'the centroids');
    const groupCentroids = take(Float32Array, h.groups * dims, 'the group centroids');
    const groupStart = take(Int32Array, h.groups + 1, 'the group offsets');
    snapshot.ivf = { centroids, groupCentroids, groupStart, trainedRows: h.trainedRows, listedRows: h.listedRows, rowLists };
  }
  if (header.version === 3 && header.prefilter) {
    const p = header.prefilter;
    snapshot.prefilter = {
      ...p,
      offset: take(Float64Array, dims, "the pre-filter's offset"),
      basis: take(Float64Array, p.prefixDims * dims, "the pre-filter's axes"),
      levels: take(Float64Array, p.rankAxes * 16, "the ranker's levels"),
      residuals: take(Float32Array, faces, "the rows' misses"),
      codes: take(Int8Array, faces * p.codeDims, "the rows' prefix codes"),
      rankCodes: take(Uint8Array, (faces * p.rankAxes) / 2, "the rows' 4-bit codes"),
    };
    toFour();
  }
  const namesBytes = body.readUInt32LE(offset);
  offset += 4;
  if (offset + namesBytes !== body.length) fail('names section does not end where the checksum starts');
  const names = JSON.parse(body.subarray(offset).toString('utf8')) as unknown;
  if (!Array.isArray(names) || !Array.isArray(names[0]) || !Array.isArray(names[1]) || names[0].length !== faces || names[1].length !== faces) {
    fail('ids and metas do not match the face count');
  }
  [snapshot.ids, snapshot.metas] = names as [string[], unknown[]];
  return snapshot;
}

type TypedArray = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;
interface TypedArrayType<T extends TypedArray> {
  readonly BYTES_PER_ELEMENT: number;
  new (count: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
}

/** File magics by version (index + 1). */
const MAGICS = [SNAPSHOT_MAGIC_V1, SNAPSHOT_MAGIC_V2, SNAPSHOT_MAGIC_V3];
