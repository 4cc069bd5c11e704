import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { IdsFileReader } from '../../libs/face-files/ids-file.js';

const dir = mkdtempSync(join(tmpdir(), 'faceshard-ids-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every id of `text`, read `perCall` at a time, with the count open() gave. */
async function idsOf(text: string | Buffer, perCall = 3): Promise<{ count: number; ids: string[] }> {
  const path = join(dir, 'ids.txt');
  writeFileSync(path, text);
  const reader = await IdsFileReader.open(path);
  try {
    const ids: string[] = [];
    for (let next = await reader.next(perCall); next.length > 0; next = await reader.next(perCall)) ids.push(...next);
    return { count: reader.count, ids };
  } finally {
    await reader.close();
  }
}

describe('IdsFileReader', () => {
  test('splits lines as text.split("\\n") does, less the empty line after a final newline and each final \\r', async () => {
    for (const text of ['', '\n', 'a', 'a\n', 'a\nb', 'a\r\nb\r\n', '\n\nc\n', 'x\ry\n', 'é\n日本\n']) {
      const expected = text === '' ? [] : text.split('\n');
      if (expected.at(-1) === '') expected.pop();
      const { count, ids } = await idsOf(text);
      assert.deepEqual(
        ids,
        expected.map((line) => line.replace(/\r$/, '')),
        JSON.stringify(text),
      );
      assert.equal(count, expected.length, JSON.stringify(text));
    }
  });

  test('lines across its 1 MiB reads, and characters split between two reads, come out whole', async () => {
    // Two-byte characters from an odd offset: some read ends in the middle of one; one line spans several reads.
    const lines = ['x', ...Array.from({ length: 40_000 }, (_, i) => `é-${i}-${'ü'.repeat(i % 40)}`), 'y'.repeat(3 * 1024 * 1024), 'last'];
    const { count, ids } = await idsOf(lines.join('\n'), 1000);
    assert.equal(count, lines.length);
    assert.equal(ids.length, lines.length);
    const wrong = ids.findIndex((id, i) => id !== lines[i]);
    assert.equal(wrong, -1, `line ${wrong + 1} differs`);
  });

  test('skip passes over ids', async () => {
    const path = join(dir, 'skip.txt');
    writeFileSync(path, 'a\nb\nc\nd\n');
    const reader = await IdsFileReader.open(path);
    try {
      await reader.skip(3);
      assert.deepEqual(await reader.next(5), ['d']);
      assert.deepEqual(await reader.next(5), []);
    } finally {
      await reader.close();
    }
  });

  test('a missing file and a directory are named', async () => {
    await assert.rejects(IdsFileReader.open(join(dir, 'absent.txt')), /absent\.txt: no such file \(the ids file\)/);
    await assert.rejects(IdsFileReader.open(dir), /ids file .* is a directory/);
  });
});
