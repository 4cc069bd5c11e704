import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECKSUM_BYTES, SNAPSHOT_MAGIC, SnapshotError, SnapshotHeader, snapshotFileName } from './format.js';

export interface Snapshot {
  header: SnapshotHeader;
  vectors: Float32Array;
  ids: string[];
  metas: unknown[];
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

export function parseSnapshot(data: Buffer, name: string): Snapshot {
  const fail = (why: string): never => {
    throw new SnapshotError(`${name}: ${why}`);
  };
  if (data.length < SNAPSHOT_MAGIC.length + 8 + CHECKSUM_BYTES) fail(`${data.length} bytes is too short to be a snapshot (truncated?)`);
  if (!data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) fail('not a faceshard snapshot (bad magic)');
  const body = data.subarray(0, data.length - CHECKSUM_BYTES);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(data.subarray(data.length - CHECKSUM_BYTES))) fail('checksum mismatch (truncated or corrupted)');

  let offset = SNAPSHOT_MAGIC.length;
  const headerBytes = body.readUInt32LE(offset);
  offset += 4;
  let header: SnapshotHeader;
  try {
    header = SnapshotHeader.parse(JSON.parse(body.subarray(offset, offset + headerBytes).toString('utf8')));
  } catch (err) {
    return fail(`bad header: ${(err as Error).message}`);
  }
  offset += headerBytes;
  const vectorBytes = header.faces * header.dims * 4;
  if (offset + vectorBytes + 4 > body.length) fail(`header says ${header.faces} faces, the file is too short for them`);
  const vectors = new Float32Array(header.faces * header.dims);
  new Uint8Array(vectors.buffer).set(body.subarray(offset, offset + vectorBytes));
  offset += vectorBytes;
  const namesBytes = body.readUInt32LE(offset);
  offset += 4;
  if (offset + namesBytes !== body.length) fail('names section does not end where the checksum starts');
  const names = JSON.parse(body.subarray(offset).toString('utf8')) as unknown;
  if (!Array.isArray(names) || !Array.isArray(names[0]) || !Array.isArray(names[1]) || names[0].length !== header.faces || names[1].length !== header.faces) {
    fail('ids and metas do not match the face count');
  }
  const [ids, metas] = names as [string[], unknown[]];
  return { header, vectors, ids, metas };
}
