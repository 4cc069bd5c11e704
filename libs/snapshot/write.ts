import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FaceIndexState } from '../face-index/index.js';
import { SNAPSHOT_MAGIC_V2, snapshotFileName, type SnapshotHeader, type SnapshotIdentity } from './format.js';

/**
 * What a snapshot needs from an index: `exportState` (rows in index order plus the IVF:
 * loads without training), or else its live faces in a stable order.
 */
export interface SnapshotSource {
  readonly dimensions: number;
  readonly size: number;
  exportState?(): FaceIndexState;
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void;
}

export interface SnapshotWritten {
  file: string;
  bytes: number;
  faces: number;
  appliedSeq: number;
}

/**
 * Copies the index synchronously (so faces and appliedSeq agree), then writes the file
 * (format version 2) asynchronously: temp file, fsync, rename, fsync the directory.
 */
export async function writeSnapshot(dir: string, source: SnapshotSource, identity: SnapshotIdentity): Promise<SnapshotWritten> {
  const state = source.exportState ? source.exportState() : copyFaces(source);
  const dims = state.dimensions;
  const faces = state.ids.length;
  const ivf = state.ivf;
  const full: SnapshotHeader = {
    version: 2,
    shard: identity.shard,
    stream: identity.stream,
    streamCreated: identity.streamCreated,
    appliedSeq: identity.appliedSeq,
    faces,
    dims,
    createdAt: new Date().toISOString(),
    ivf: ivf ? { lists: ivf.centroids.length / dims, groups: ivf.groupCentroids.length / dims, listedRows: ivf.listedRows, trainedRows: ivf.trainedRows } : null,
  };
  const metas = state.metas.map((meta) => meta ?? null);

  // Padded with spaces (valid JSON) so the arrays after it start 4-byte aligned: the reader can view them without copying.
  const headerText = JSON.stringify(full);
  const headerJson = Buffer.from(headerText.padEnd(headerText.length + ((4 - ((SNAPSHOT_MAGIC_V2.length + 4 + Buffer.byteLength(headerText)) % 4)) % 4)));
  const namesJson = Buffer.from(JSON.stringify([state.ids, metas]));
  const parts = [SNAPSHOT_MAGIC_V2, u32(headerJson.length), headerJson, bytesOf(state.vectors)];
  if (ivf) parts.push(bytesOf(ivf.rowLists), bytesOf(ivf.centroids), bytesOf(ivf.groupCentroids), bytesOf(ivf.groupStart));
  parts.push(u32(namesJson.length), namesJson);
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  parts.push(hash.digest());

  await mkdir(dir, { recursive: true });
  const file = path.join(dir, snapshotFileName(identity.shard));
  const temp = `${file}.tmp-${process.pid}`;
  let bytes = 0;
  try {
    const handle = await open(temp, 'w');
    try {
      for (const p of parts) {
        await handle.write(p);
        bytes += p.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return { file, bytes, faces, appliedSeq: identity.appliedSeq };
}

/** A source without `exportState`: its live faces, no IVF. */
function copyFaces(source: SnapshotSource): FaceIndexState {
  const dims = source.dimensions;
  const vectors = new Float32Array(source.size * dims);
  const ids: string[] = [];
  const metas: unknown[] = [];
  source.forEachFace((id, vector, meta) => {
    vectors.set(vector, ids.length * dims);
    ids.push(id);
    metas.push(meta);
  });
  return { dimensions: dims, vectors: ids.length === source.size ? vectors : vectors.slice(0, ids.length * dims), ids, metas };
}

function bytesOf(array: Float32Array | Int32Array): Buffer {
  // Little-endian hosts only (the format is LE; so is every platform Node runs on here).
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}
