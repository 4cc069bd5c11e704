import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeNpyFloat32, writeNpyFloat32 } from '../../libs/npy/write.js';

const dir = await mkdtemp(join(os.tmpdir(), 'faceshard-npy-write-'));
after(() => rm(dir, { recursive: true, force: true }));

test('writeNpyFloat32 writes in chunks (past 4 GiB a file cannot be one byte view): the file is byte for byte the whole-matrix encoding', async () => {
  const rows = 37;
  const dims = 128;
  const data = Float32Array.from({ length: rows * dims }, (_, i) => Math.sin(i) * 0.4);
  for (const chunkBytes of [100, 512, 4096, 1 << 20]) {
    const path = join(dir, `chunks-${chunkBytes}.npy`);
    await writeNpyFloat32(path, { rows, dims, data }, chunkBytes);
    assert.deepEqual(await readFile(path), encodeNpyFloat32({ rows, dims, data }), `chunks of ${chunkBytes} bytes`);
  }
});
