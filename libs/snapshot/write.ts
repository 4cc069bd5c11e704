import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FaceIndexState } from '../index/face-index/index.js';
import { INT16_ROW_MAX, int16RowCode } from '../index/simd-kernel/index.js';
import { SNAPSHOT_MAGIC_V3, snapshotFileName, type SnapshotHeader, type SnapshotIdentity } from './format.js';
import type { WriteJob, WriteResult } from './write-worker.js';

/**
 * What a snapshot needs from an index: `exportState` (rows in index order plus the IVF:
 * loads without training), or else its live faces in a stable order. The writer takes
 * ownership of the `rows` (or `vectors`), `ivf.rowLists` and the pre-filter's per-row codes
 * that `exportState` returns (they must be fresh copies): they are handed to its worker thread and detached here.
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
 * Copies the index synchronously (so faces and appliedSeq agree), then hashes and writes
 * the file (format version 3) on a worker thread: temp file, fsync, rename, fsync the
 * directory. The copy's big arrays are transferred to the worker, not shared: a 250,000-face
 * shard's ~125 MB copy is freed when the worker exits, where garbage on this thread stayed
 * resident 10-30 s (until a major GC) after every snapshot. Hashing there also keeps ~0.3 s
 * of sha256 off the event loop that answers queries.
 */
export async function writeSnapshot(dir: string, source: SnapshotSource, identity: SnapshotIdentity): Promise<SnapshotWritten> {
  const { parts, transfer, faces } = encode(source.exportState ? source.exportState() : copyFaces(source), identity);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, snapshotFileName(identity.shard));
  const temp = `${file}.tmp-${process.pid}`;
  let bytes: number;
  try {
    bytes = await writeInWorker({ temp, parts }, transfer);
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

/** The file's parts before the checksum, and the buffers they alone own (transferred to the worker). */
function encode(state: FaceIndexState, identity: SnapshotIdentity): { parts: Uint8Array[]; transfer: ArrayBuffer[]; faces: number } {
  const dims = state.dimensions;
  const faces = state.ids.length;
  const { ivf, prefilter } = state;
  const full: SnapshotHeader = {
    version: 3,
    shard: identity.shard,
    stream: identity.stream,
    streamCreated: identity.streamCreated,
    ...(identity.streamFirstSeq === undefined ? {} : { streamFirstSeq: identity.streamFirstSeq }),
    appliedSeq: identity.appliedSeq,
    faces,
    dims,
    createdAt: new Date().toISOString(),
    ivf: ivf
      ? { lists: ivf.centroids.length / dims, groups: ivf.groupCentroids.length / dims, listedRows: ivf.listedRows, trainedRows: ivf.trainedRows }
      : null,
    prefilter: prefilter
      ? {
          prefixDims: prefilter.prefixDims,
          codeDims: prefilter.codeDims,
          rankAxes: prefilter.rankAxes,
          learnedRows: prefilter.learnedRows,
          prefixSd: prefilter.prefixSd,
        }
      : null,
  };
  const metas = state.metas.map((meta) => meta ?? null);

  // Padded with spaces (valid JSON) so the arrays after it start 4-byte aligned: the reader can view them without copying.
  const headerText = JSON.stringify(full);
  const headerJson = Buffer.from(headerText.padEnd(headerText.length + ((4 - ((SNAPSHOT_MAGIC_V3.length + 4 + Buffer.byteLength(headerText)) % 4)) % 4)));
  const namesJson = Buffer.from(JSON.stringify([state.ids, metas]));
  const transfer: ArrayBuffer[] = [];
  /** Owned: a fresh array nobody else holds (moved to the worker). Otherwise copied, so the index's own arrays are never detached. */
  const part = (array: ArrayBufferView, owned: boolean): Uint8Array => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && array.buffer instanceof ArrayBuffer;
    if (owned && whole) {
      transfer.push(array.buffer as ArrayBuffer);
      return bytes;
    }
    return bytes.slice(); // a copy that spans its own buffer (structured clone would copy the whole backing buffer)
  };
  const parts = [part(SNAPSHOT_MAGIC_V3, false), u32(headerJson.length), part(headerJson, false)];
  let bytes = SNAPSHOT_MAGIC_V3.length + 4 + headerJson.length;
  const add = (p: Uint8Array) => {
    parts.push(p);
    bytes += p.byteLength;
  };
  const padToFour = () => {
    if (bytes % 4 !== 0) add(new Uint8Array(4 - (bytes % 4)));
  };
  add(state.rows ? part(state.rows, true) : part(rowsOf(state.vectors!), true));
  padToFour();
  if (ivf) for (const p of [part(ivf.rowLists, true), part(ivf.centroids, false), part(ivf.groupCentroids, false), part(ivf.groupStart, false)]) add(p);
  if (prefilter) {
    const { offset, basis, levels, residuals, codes, rankCodes } = prefilter;
    for (const p of [part(offset, false), part(basis, false), part(levels, false), part(residuals, true), part(codes, true), part(rankCodes, true)]) add(p);
    padToFour();
  }
  add(u32(namesJson.length));
  add(part(namesJson, true));
  return { parts, transfer, faces };
}

/** Float32 vectors as the int16 codes rows store (each a multiple of 2^-14 within ±INT16_ROW_MAX: what an index holds). */
function rowsOf(vectors: Float32Array): Int16Array {
  const rows = new Int16Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    const x = vectors[i];
    if (!(Math.abs(x) <= INT16_ROW_MAX)) throw new RangeError(`snapshot: vector value ${i} is ${x} (must be finite and within ±${INT16_ROW_MAX})`);
    rows[i] = int16RowCode(x);
  }
  return rows;
}

/** Runs write-worker.js on `job`, moving `transfer` to it; the bytes written. */
function writeInWorker(job: WriteJob, transfer: ArrayBuffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./write-worker.js', import.meta.url), { workerData: job, transferList: transfer });
    let settled = false;
    worker.once('message', (result: WriteResult) => {
      settled = true;
      if ('error' in result) reject(new Error(`snapshot write failed: ${result.error}`));
      else resolve(result.bytes);
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`snapshot writer thread exited (code ${code}) without an answer`));
    });
  });
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

// The arrays go out in host byte order: little-endian only (the format is LE; so is every platform Node runs on here).
function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
