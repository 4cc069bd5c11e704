import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceIndexIvfState, FaceIndexState } from '../index/face-index/index.js';
import { CHECKSUM_BYTES, SNAPSHOT_MAGIC_V1, SNAPSHOT_MAGIC_V2, SnapshotError, SnapshotHeader, snapshotFileName } from './format.js';

export interface Snapshot {
  header: SnapshotHeader;
  vectors: Float32Array;
  ids: string[];
  metas: unknown[];
  /** The IVF (version 2 files of an index that had one). */
  ivf?: FaceIndexIvfState;
}

/** Reads and verifies a snapshot; undefined when there is none, SnapshotError when it is damaged. */
export async function readSnapshot(dir: string, shard: number): Promise<Snapshot | undefined> {
  const file = path.join(dir, snapshotFileName(shard));
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseSnapshot(data, file);
}

/** The snapshot as a `FaceIndex.importState` argument (adopts its arrays). */
export function snapshotState(snapshot: Snapshot): FaceIndexState {
  const state: FaceIndexState = { dimensions: snapshot.header.dims, vectors: snapshot.vectors, ids: snapshot.ids, metas: snapshot.metas };
  if (snapshot.ivf) state.ivf = snapshot.ivf;
  return state;
}

export function parseSnapshot(data: Buffer, name: string): Snapshot {
  const fail = (why: string): never => {
    throw new SnapshotError(`${name}: ${why}`);
  };
  if (data.length < SNAPSHOT_MAGIC_V1.length + 8 + CHECKSUM_BYTES) fail(`${data.length} bytes is too short to be a snapshot (truncated?)`);
  const magic = data.subarray(0, SNAPSHOT_MAGIC_V1.length);
  const fileVersion = magic.equals(SNAPSHOT_MAGIC_V2) ? 2 : magic.equals(SNAPSHOT_MAGIC_V1) ? 1 : fail('not a faceshard snapshot (bad magic)');
  const body = data.subarray(0, data.length - CHECKSUM_BYTES);
  const digest = createHash('sha256').update(body).digest();
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
   * The next `count` 4-byte values: a view of the file's memory when aligned (v2 pads
   * its header for that), else a copy.
   */
  const take = <T extends Float32Array | Int32Array>(
    count: number,
    make: (n: number) => T,
    view: (buffer: ArrayBufferLike, byteOffset: number, n: number) => T,
    what: string,
  ): T => {
    const bytes = count * 4;
    if (offset + bytes + 4 > body.length) fail(`the file is too short for ${what}`);
    const at = body.byteOffset + offset;
    offset += bytes;
    if (at % 4 === 0) return view(body.buffer, at, count);
    const out = make(count);
    new Uint8Array(out.buffer, out.byteOffset, bytes).set(body.subarray(offset - bytes, offset));
    return out;
  };
  const floats = (count: number, what: string) =>
    take(
      count,
      (n) => new Float32Array(n),
      (b, o, n) => new Float32Array(b, o, n),
      what,
    );
  const ints = (count: number, what: string) =>
    take(
      count,
      (n) => new Int32Array(n),
      (b, o, n) => new Int32Array(b, o, n),
      what,
    );
  const vectors = floats(faces * dims, `${faces} faces`);
  let ivf: FaceIndexIvfState | undefined;
  if (header.version === 2 && header.ivf !== null) {
    const h = header.ivf;
    if (h.listedRows > faces) fail(`${h.listedRows} listed rows of ${faces} faces`);
    const rowLists = ints(faces, "the rows' lists");
    const centroids = floats(h.lists * dims, 'the centroids');
    const groupCentroids = floats(h.groups * dims, 'the group centroids');
    const groupStart = ints(h.groups + 1, 'the group offsets');
    ivf = { centroids, groupCentroids, groupStart, trainedRows: h.trainedRows, listedRows: h.listedRows, rowLists };
  }
  const namesBytes = body.readUInt32LE(offset);
  offset += 4;
  if (offset + namesBytes !== body.length) fail('names section does not end where the checksum starts');
  const names = JSON.parse(body.subarray(offset).toString('utf8')) as unknown;
  if (!Array.isArray(names) || !Array.isArray(names[0]) || !Array.isArray(names[1]) || names[0].length !== faces || names[1].length !== faces) {
    fail('ids and metas do not match the face count');
  }
  const [ids, metas] = names as [string[], unknown[]];
  const snapshot: Snapshot = { header, vectors, ids, metas };
  if (ivf) snapshot.ivf = ivf;
  return snapshot;
}
