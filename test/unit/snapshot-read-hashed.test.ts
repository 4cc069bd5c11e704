import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { readHashed } from '../../libs/snapshot/read-hashed.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map(removeDir)));

test('readHashed: the whole file, and the sha256 of all but its trailer, whatever the chunk size', async () => {
  const dir = await tempDir('faceshard-read-hashed-');
  dirs.push(dir);
  const file = path.join(dir, 'f');
  for (const size of [0, 10, 32, 33, 1000, 100_003]) {
    const bytes = randomBytes(size);
    await writeFile(file, bytes);
    const want = createHash('sha256')
      .update(bytes.subarray(0, Math.max(0, size - 32)))
      .digest();
    for (const chunk of size > 1000 ? [999, 4096, 1 << 20] : [1, 7, 32, 4096]) {
      const { data, digest } = await readHashed(file, 32, chunk);
      assert.ok(data.equals(bytes), `size ${size}, chunk ${chunk}: the bytes`);
      assert.ok(digest.equals(want), `size ${size}, chunk ${chunk}: the digest`);
    }
  }
  await assert.rejects(readHashed(path.join(dir, 'missing'), 32), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
});
