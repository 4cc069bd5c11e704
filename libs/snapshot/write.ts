import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { SNAPSHOT_MAGIC, snapshotFileName, type SnapshotHeader } from './format.js';

/** What a snapshot needs from an index: its live faces, in a stable order. */
export interface SnapshotSource {
  readonly dimensions: number;
  readonly size: number;
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
 * asynchronously: temp file, fsync, rename, fsync the directory.
 */
export async function writeSnapshot(dir: string, source: SnapshotSource, header: Omit<SnapshotHeader, 'version' | 'faces' | 'dims' | 'createdAt'>): Promise<SnapshotWritten> {
  const dims = source.dimensions;
  const vectors = new Float32Array(source.size * dims);
  const ids: string[] = [];
  const metas: unknown[] = [];
  source.forEachFace((id, vector, meta) => {
    vectors.set(vector, ids.length * dims);
    ids.push(id);
    metas.push(meta ?? null);
  });
  const full: SnapshotHeader = { version: 1, ...header, faces: ids.length, dims, createdAt: new Date().toISOString() };

  const headerJson = Buffer.from(JSON.stringify(full));
  const namesJson = Buffer.from(JSON.stringify([ids, metas]));
  const parts = [SNAPSHOT_MAGIC, u32(headerJson.length), headerJson, Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength), u32(namesJson.length), namesJson];
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  parts.push(hash.digest());

  await mkdir(dir, { recursive: true });
  const file = path.join(dir, snapshotFileName(header.shard));
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
  return { file, bytes, faces: ids.length, appliedSeq: header.appliedSeq };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}
