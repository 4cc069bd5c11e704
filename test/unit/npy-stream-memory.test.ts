import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readFaceFile } from '../../libs/face-files/index.js';
import { encodeNpyHeader } from '../../libs/npy/write.js';

/**
 * A .npy far bigger than anything the reader may hold (614,400 rows of float32, 300 MiB)
 * goes through readFaceFile, the path `faceshard ingest` takes: memory stays flat, and
 * every row and id comes back as written.
 */

const DIMS = 128;
const ROWS = 614_400;
const ROWS_PER_WRITE = 8192;
const FILE_BYTES = ROWS * DIMS * 4;
const dir = mkdtempSync(join(tmpdir(), 'faceshard-npy-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Element (r, c): a multiple of 2^-15 in [-1, 1), exact in float32, different from row to row. */
function valueAt(r: number, c: number): number {
  return ((r * 131 + c * 7919) % 65_536) / 32_768 - 1;
}

function idOf(r: number): string {
  return `person-${r}.jpg#0`;
}

/** Writes the file a few MiB at a time, as a streaming exporter would. */
async function writeBigNpy(path: string, idsPath: string): Promise<void> {
  const npy = await open(path, 'w');
  const ids = await open(idsPath, 'w');
  try {
    await npy.write(encodeNpyHeader({ descr: '<f4', shape: [ROWS, DIMS] }));
    const chunk = new Float32Array(ROWS_PER_WRITE * DIMS);
    for (let start = 0; start < ROWS; start += ROWS_PER_WRITE) {
      for (let i = 0; i < ROWS_PER_WRITE; i++) for (let c = 0; c < DIMS; c++) chunk[i * DIMS + c] = valueAt(start + i, c);
      await npy.write(new Uint8Array(chunk.buffer));
      await ids.write(Array.from({ length: ROWS_PER_WRITE }, (_, i) => idOf(start + i) + '\n').join(''));
    }
  } finally {
    await npy.close();
    await ids.close();
  }
}

test('a 300 MiB .npy and its ids stream through readFaceFile in flat memory, every row as written', { timeout: 120_000 }, async () => {
  const path = join(dir, 'big.npy');
  const idsPath = join(dir, 'big.ids');
  await writeBigNpy(path, idsPath);

  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakArrayBuffers = before.arrayBuffers;
  let rows = 0;
  let wrongValues = 0;
  let wrongIds = 0;
  let checksum = 0;
  let expectedChecksum = 0;
  for await (const batch of readFaceFile(path, { idsPath })) {
    assert.deepEqual(batch.errors, []);
    for (const face of batch.faces) {
      const r = face.row - 1;
      if (face.id !== idOf(r)) wrongIds++;
      for (let c = 0; c < DIMS; c++) {
        const expected = valueAt(r, c);
        if (face.vector[c] !== expected) wrongValues++;
        // Position-weighted, so rows swapped or shifted would not add up the same.
        checksum += face.vector[c] * ((r % 1009) + c);
        expectedChecksum += expected * ((r % 1009) + c);
      }
      rows++;
    }
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers);
  }

  assert.equal(rows, ROWS);
  assert.equal(wrongIds, 0);
  assert.equal(wrongValues, 0);
  assert.equal(checksum, expectedChecksum);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const rssGrowth = peakRss - before.rss;
  const arrayBufferGrowth = peakArrayBuffers - before.arrayBuffers;
  const seen = `file ${mib(FILE_BYTES)}; resident memory grew ${mib(rssGrowth)}, array buffers ${mib(arrayBufferGrowth)}`;
  // Reading the whole file would add 300 MiB to both; streaming it adds the young heap and a few batches (~50 MiB and ~20 MiB here).
  assert.ok(rssGrowth < FILE_BYTES / 3, seen);
  assert.ok(arrayBufferGrowth < FILE_BYTES / 6, seen);
  console.log(seen);
});
