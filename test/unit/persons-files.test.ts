import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FaceFileError, readFaceFile, type FaceRow, type ReadFaceFileOptions, type RowError } from '../../libs/face-files/index.js';
import { writeNpyFloat32 } from '../../libs/npy/write.js';

const DIMS = 128;
const dir = mkdtempSync(join(tmpdir(), 'faceshard-persons-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const vector = (row: number) => Array.from({ length: DIMS }, (_, c) => row / 64 + c / 2 ** 20);

function writeText(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function writeNpy(name: string, rows: number): Promise<string> {
  const data = new Float32Array(rows * DIMS);
  for (let r = 0; r < rows; r++) data.set(vector(r), r * DIMS);
  const path = join(dir, name);
  await writeNpyFloat32(path, { rows, dims: DIMS, data });
  return path;
}

async function read(path: string, options?: ReadFaceFileOptions): Promise<{ faces: FaceRow[]; errors: RowError[] }> {
  const faces: FaceRow[] = [];
  const errors: RowError[] = [];
  for await (const batch of readFaceFile(path, options)) {
    faces.push(...batch.faces);
    errors.push(...batch.errors);
  }
  return { faces, errors };
}

const line = (fields: Record<string, unknown>) => JSON.stringify({ vector: vector(0), ...fields });

describe('persons in .jsonl rows', () => {
  test('"person" becomes meta.person (trimmed, beside the other meta keys); a row without one has none', async () => {
    const path = writeText(
      'people.jsonl',
      [
        line({ id: 'a', person: ' Ada ' }),
        line({ id: 'b', person: 'Bob', meta: { path: 'b.jpg' } }),
        line({ id: 'c' }),
        line({ id: 'd', meta: { person: 'Di' } }),
      ].join('\n'),
    );
    const { faces, errors } = await read(path);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      faces.map((f) => [f.id, f.meta]),
      [
        ['a', { person: 'Ada' }],
        ['b', { path: 'b.jpg', person: 'Bob' }],
        ['c', undefined],
        ['d', { person: 'Di' }],
      ],
    );
  });

  test("a bad person is that row's error, named; the rows around it still come through", async () => {
    const rows = [
      line({ id: 'ok1', person: 'Ada' }),
      line({ id: 'empty', person: '  ' }),
      line({ id: 'number', person: 7 }),
      line({ id: 'newline', person: 'Ada\nLovelace' }),
      line({ id: 'twice', person: 'Ada', meta: { person: 'Ada' } }),
      line({ id: 'meta', meta: { person: 'x'.repeat(129) } }),
      line({ id: 'ok2', person: 'Bob' }),
    ];
    const { faces, errors } = await read(writeText('bad-people.jsonl', rows.join('\n')));
    assert.deepEqual(
      faces.map((f) => f.id),
      ['ok1', 'ok2'],
    );
    assert.deepEqual(errors, [
      { row: 2, reason: 'person must not be empty' },
      { row: 3, reason: 'person must be a string, got number' },
      { row: 4, reason: 'person must not contain control characters (newlines, tabs, ...)' },
      { row: 5, reason: 'person is given twice, as "person" and as "meta.person": give it once' },
      { row: 6, reason: 'meta.person must be at most 128 characters' },
    ]);
  });

  test('a persons file goes only with a .npy file', async () => {
    const path = writeText('one.jsonl', line({ id: 'a' }));
    await assert.rejects(read(path, { personsPath: writeText('p.txt', 'Ada\n') }), (error: Error) => {
      assert.ok(error instanceof FaceFileError);
      assert.match(error.message, /a persons file only goes with a \.npy file/);
      return true;
    });
  });
});

describe('a persons file beside a .npy', () => {
  test("line i is row i's person, as meta.person; a blank line is no person; with an ids file too", async () => {
    const path = await writeNpy('four.npy', 4);
    const personsPath = writeText('four.persons', 'Ada\n\n  Bob  \r\nCy');
    const { faces, errors } = await read(path, { personsPath, idsPath: writeText('four.ids', 'a\nb\nc\nd\n') });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      faces.map((f) => [f.row, f.id, f.meta]),
      [
        [1, 'a', { person: 'Ada' }],
        [2, 'b', undefined],
        [3, 'c', { person: 'Bob' }],
        [4, 'd', { person: 'Cy' }],
      ],
    );
  });

  test('read in batches and resumed part-way, the persons stay with their rows', async () => {
    const path = await writeNpy('seven.npy', 7);
    const personsPath = writeText('seven.persons', Array.from({ length: 7 }, (_, i) => `p${i}`).join('\n') + '\n');
    const { faces } = await read(path, { personsPath, batchSize: 2, fromRow: 3 });
    assert.deepEqual(
      faces.map((f) => [f.id, (f.meta as { person: string }).person]),
      [
        ['3', 'p3'],
        ['4', 'p4'],
        ['5', 'p5'],
        ['6', 'p6'],
      ],
    );
  });

  test("a line that cannot be a person is its row's error; the other rows come through", async () => {
    const path = await writeNpy('three.npy', 3);
    const { faces, errors } = await read(path, { personsPath: writeText('three.persons', `Ada\n${'n'.repeat(129)}\nCy\n`) });
    assert.deepEqual(
      faces.map((f) => f.id),
      ['0', '2'],
    );
    assert.deepEqual(errors, [{ row: 2, reason: 'person must be at most 128 characters (id "1")' }]);
  });

  test('a persons file of the wrong length, or missing, fails before any row', async () => {
    const path = await writeNpy('two.npy', 2);
    await assert.rejects(
      read(path, { personsPath: writeText('three-lines.persons', 'a\nb\nc\n') }),
      /persons file .*three-lines\.persons has 3 lines for 2 vectors/,
    );
    await assert.rejects(read(path, { personsPath: join(dir, 'absent.persons') }), /absent\.persons: no such file \(the persons file\)/);
    await assert.rejects(read(path, { personsPath: dir }), /persons file .* is a directory/);
  });
});
