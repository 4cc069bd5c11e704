import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FaceFileError, readFaceFile, type FaceBatch, type FaceRow, type RowError } from '../../libs/face-files/index.js';
import { writeNpyFloat32 } from '../../libs/npy/write.js';

const DIMS = 128;
const dir = mkdtempSync(join(tmpdir(), 'faceshard-face-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Row r of every fixture: element c is (r mod 1024) / 1024 + c / 2^20 (distinct for the first 1024 rows, exact in float32, within what shards store). */
function vectorFor(row: number): number[] {
  return Array.from({ length: DIMS }, (_, c) => (row % 1024) / 1024 + c / 2 ** 20);
}

async function writeNpy(name: string, rows: number, tweak?: (data: Float32Array) => void): Promise<string> {
  const data = new Float32Array(rows * DIMS);
  for (let r = 0; r < rows; r++) data.set(vectorFor(r), r * DIMS);
  tweak?.(data);
  const path = join(dir, name);
  await writeNpyFloat32(path, { rows, dims: DIMS, data });
  return path;
}

function writeText(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function jsonLine(id: unknown, vector: unknown = vectorFor(0), extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id, vector, ...extra });
}

async function collect(path: string, options?: Parameters<typeof readFaceFile>[1]) {
  const batches: FaceBatch[] = [];
  for await (const batch of readFaceFile(path, options)) batches.push(batch);
  const faces: FaceRow[] = batches.flatMap((batch) => batch.faces);
  const errors: RowError[] = batches.flatMap((batch) => batch.errors);
  return { batches, faces, errors };
}

/** Asserts the read fails with a FaceFileError before any batch was yielded. */
async function assertFailsBeforeYielding(path: string, options: Parameters<typeof readFaceFile>[1], message: RegExp) {
  let yielded = 0;
  await assert.rejects(
    async () => {
      for await (const _batch of readFaceFile(path, options)) yielded++;
    },
    (error: Error) => {
      assert.ok(error instanceof FaceFileError, `expected a FaceFileError, got ${error}`);
      assert.match(error.message, message);
      return true;
    },
  );
  assert.equal(yielded, 0, 'nothing may be yielded before the error');
}

describe('readFaceFile: .npy', () => {
  test('pairs vectors with the ids file, line by line', async () => {
    const path = await writeNpy('four.npy', 4);
    const idsPath = writeText('four.ids', 'people/ada.jpg#0\npeople/bob.jpg#0\npeople/bob.jpg#1\npeople/cy.jpg#0\n');
    const { batches, faces, errors } = await collect(path, { idsPath });
    assert.equal(batches.length, 1);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [1, 'people/ada.jpg#0'],
        [2, 'people/bob.jpg#0'],
        [3, 'people/bob.jpg#1'],
        [4, 'people/cy.jpg#0'],
      ],
    );
    faces.forEach((face, r) => {
      assert.ok(face.vector instanceof Float32Array);
      assert.deepEqual(face.vector, Float32Array.from(vectorFor(r)));
    });
  });

  test('vectors share memory with their batch at most, never with the whole file', async () => {
    const { batches } = await collect(await writeNpy('five.npy', 5), { batchSize: 2 });
    for (const batch of batches) {
      for (const face of batch.faces) assert.equal(face.vector.buffer.byteLength, batch.faces.length * DIMS * 4);
    }
  });

  test('accepts an ids file without a final newline and with Windows line ends', async () => {
    const path = await writeNpy('two.npy', 2);
    const { faces } = await collect(path, { idsPath: writeText('crlf.ids', 'a\r\nb') });
    assert.deepEqual(
      faces.map((face) => face.id),
      ['a', 'b'],
    );
  });

  test('fewer ids than vectors is an error before anything is yielded', async () => {
    const path = await writeNpy('twelve.npy', 12);
    const idsPath = writeText('ten.ids', Array.from({ length: 10 }, (_, i) => `id${i}`).join('\n') + '\n');
    await assertFailsBeforeYielding(path, { idsPath, batchSize: 2 }, /ids file .*ten\.ids has 10 ids for 12 vectors/);
  });

  test('more ids than vectors is an error too', async () => {
    const path = await writeNpy('three.npy', 3);
    const idsPath = writeText('five.ids', 'a\nb\nc\nd\ne\n');
    await assertFailsBeforeYielding(path, { idsPath }, /has 5 ids for 3 vectors/);
  });

  test('a missing ids file is named', async () => {
    const path = await writeNpy('one.npy', 1);
    await assertFailsBeforeYielding(path, { idsPath: join(dir, 'absent.ids') }, /absent\.ids: no such file \(the ids file\)/);
  });

  test('without an ids file, ids are the 0-based numpy row indexes', async () => {
    const { faces } = await collect(await writeNpy('default-ids.npy', 3));
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [1, '0'],
        [2, '1'],
        [3, '2'],
      ],
    );
  });

  test('a NaN row is reported by row number and element while the other rows still come through', async () => {
    const path = await writeNpy('nan.npy', 4, (data) => {
      data[2 * DIMS + 7] = Number.NaN;
      data[3 * DIMS + 0] = Number.POSITIVE_INFINITY;
    });
    const { faces, errors } = await collect(path);
    assert.deepEqual(
      faces.map((face) => face.row),
      [1, 2],
    );
    assert.equal(errors.length, 2);
    assert.equal(errors[0].row, 3);
    assert.match(errors[0].reason, /element 7 is NaN/);
    assert.match(errors[0].reason, /id "2"/);
    assert.equal(errors[1].row, 4);
    assert.match(errors[1].reason, /element 0 is Infinity/);
  });

  test('empty and over-long ids are row errors', async () => {
    const path = await writeNpy('bad-ids.npy', 3);
    const idsPath = writeText('bad.ids', `good\n\n${'x'.repeat(513)}\n`);
    const { faces, errors } = await collect(path, { idsPath });
    assert.deepEqual(
      faces.map((face) => face.id),
      ['good'],
    );
    assert.deepEqual(
      errors.map((error) => error.row),
      [2, 3],
    );
    assert.match(errors[0].reason, /id must not be empty/);
    assert.match(errors[1].reason, /at most 512 bytes/);
  });

  test('fromRow skips rows, keeping row numbers, row-number ids and ids file lines of the whole file', async () => {
    const path = await writeNpy('resume.npy', 7);
    const withoutIds = await collect(path, { fromRow: 4, batchSize: 2 });
    assert.deepEqual(
      withoutIds.batches.map((batch) => batch.faces.map((face) => [face.row, face.id])),
      [
        [
          [5, '4'],
          [6, '5'],
        ],
        [[7, '6']],
      ],
    );
    assert.deepEqual(withoutIds.faces[0].vector, Float32Array.from(vectorFor(4)));
    const idsPath = writeText('resume.ids', 'a\nb\nc\nd\ne\nf\ng\n');
    const { faces } = await collect(path, { idsPath, fromRow: 5 });
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [6, 'f'],
        [7, 'g'],
      ],
    );
    assert.equal((await collect(path, { fromRow: 7 })).batches.length, 0, 'from the end: nothing');
    await assert.rejects(collect(path, { fromRow: 8 }), /cannot start after row 8: .*resume\.npy has 7 rows/);
    await assert.rejects(collect(path, { fromRow: -1 }), /fromRow must be a whole number/);
  });

  test("a broken .npy file fails with the npy reader's message", async () => {
    const path = writeText('not-really.npy', 'hello');
    await assert.rejects(collect(path), /not-really\.npy: not a \.npy file/);
  });
});

describe('readFaceFile: JSON lines', () => {
  test('reads good rows with their meta and 1-based line numbers, skipping blank lines', async () => {
    const path = writeText(
      'good.jsonl',
      [jsonLine('ada', vectorFor(0), { meta: { name: 'Ada', age: 36 } }), '', '   ', jsonLine('bob', vectorFor(1)), ''].join('\n'),
    );
    const { faces, errors } = await collect(path);
    assert.deepEqual(errors, []);
    assert.equal(faces.length, 2);
    assert.deepEqual([faces[0].row, faces[0].id, faces[0].meta], [1, 'ada', { name: 'Ada', age: 36 }]);
    assert.deepEqual([faces[1].row, faces[1].id, faces[1].meta], [4, 'bob', undefined]);
    assert.ok(!('meta' in faces[1]), 'no meta key when the line has none');
    assert.deepEqual(faces[1].vector, Float32Array.from(vectorFor(1)));
  });

  test('.ndjson is read the same way, CRLF line ends and a byte order mark too', async () => {
    const path = writeText('good.ndjson', `\uFEFF${jsonLine('a')}\r\n${jsonLine('b')}\r\n`);
    const { faces, errors } = await collect(path);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
  });

  test('each bad line is a row error with its line number and a readable reason; good lines still come', async () => {
    const lines = [
      jsonLine('ok-1'), // 1
      '{"id": "broken", "vector": [1, 2', // 2: malformed JSON
      jsonLine('short', vectorFor(0).slice(0, 127)), // 3
      jsonLine('extra', vectorFor(0), { colour: 'blue' }), // 4
      jsonLine(''), // 5
      jsonLine('x'.repeat(513)), // 6
      jsonLine(
        'bad-element',
        vectorFor(0).map((v, i) => (i === 5 ? 'five' : v)),
      ), // 7
      jsonLine(
        'huge',
        vectorFor(0).map((v, i) => (i === 9 ? 1e39 : v)),
      ), // 8: past float32, and past what shards store
      jsonLine('meta-array', vectorFor(0), { meta: [1, 2] }), // 9
      '[1, 2, 3]', // 10
      JSON.stringify({ vector: vectorFor(0) }), // 11: no id
      jsonLine('ok-2'), // 12
    ];
    const { faces, errors } = await collect(writeText('mixed.jsonl', lines.join('\n') + '\n'));
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [1, 'ok-1'],
        [12, 'ok-2'],
      ],
    );
    const reasons = new Map(errors.map((error) => [error.row, error.reason]));
    assert.deepEqual([...reasons.keys()], [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.match(reasons.get(2)!, /^not valid JSON/);
    assert.equal(reasons.get(3), 'vector must have exactly 128 numbers');
    assert.match(reasons.get(4)!, /Unrecognized key.*colour/);
    assert.equal(reasons.get(5), 'id must not be empty');
    assert.equal(reasons.get(6), 'id must be at most 512 bytes');
    assert.match(reasons.get(7)!, /^vector\[5\]: .*expected number/);
    assert.equal(reasons.get(8), 'vector[9]: must be within ±1.99993896484375');
    assert.match(reasons.get(9)!, /^meta: /);
    assert.match(reasons.get(10)!, /expected object/);
    assert.match(reasons.get(11)!, /^id: /);
  });

  test('several problems on one line are counted', async () => {
    const { errors } = await collect(writeText('two-problems.jsonl', jsonLine('', [0.1, 0.2]) + '\n'));
    assert.equal(errors.length, 1);
    assert.match(errors[0].reason, /\(and 1 more problem\)$/);
  });

  test('duplicate ids are passed on, in file order', async () => {
    const { faces, errors } = await collect(writeText('dupes.jsonl', `${jsonLine('same', vectorFor(0))}\n${jsonLine('same', vectorFor(1))}\n`));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      faces.map((face) => [face.row, face.id, face.vector[0]]),
      [
        [1, 'same', 0],
        [2, 'same', 1 / 1024],
      ],
    );
  });

  test('fromRow skips lines, blank ones included, and keeps line numbers', async () => {
    const path = writeText('resume.jsonl', [jsonLine('a'), '', jsonLine('c'), jsonLine('d')].join('\n'));
    const { faces } = await collect(path, { fromRow: 2 });
    assert.deepEqual(
      faces.map((face) => [face.row, face.id]),
      [
        [3, 'c'],
        [4, 'd'],
      ],
    );
  });

  test('an ids file with a JSON lines file is refused', async () => {
    const path = writeText('with-ids.jsonl', jsonLine('a') + '\n');
    await assertFailsBeforeYielding(path, { idsPath: writeText('unused.ids', 'a\n') }, /ids file only goes with a \.npy file/);
  });
});

describe('readFaceFile: batching', () => {
  test('batchSize 3 over 10 .npy rows yields 4 batches', async () => {
    const { batches, faces } = await collect(await writeNpy('ten.npy', 10), { batchSize: 3 });
    assert.deepEqual(
      batches.map((batch) => batch.faces.length),
      [3, 3, 3, 1],
    );
    assert.deepEqual(
      faces.map((face) => face.row),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test('batchSize 3 over 10 JSON lines (errors count as rows, blank lines do not) yields 4 batches', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => (i === 4 ? 'not json' : jsonLine(`face-${i}`)));
    lines.splice(2, 0, ''); // a blank line in the middle
    const { batches, faces, errors } = await collect(writeText('ten.jsonl', lines.join('\n')), { batchSize: 3 });
    assert.deepEqual(
      batches.map((batch) => batch.faces.length + batch.errors.length),
      [3, 3, 3, 1],
    );
    assert.equal(faces.length, 9);
    assert.deepEqual(
      errors.map((error) => error.row),
      [6],
    );
  });

  test('the default batch size is 1000', async () => {
    const { batches } = await collect(await writeNpy('2500.npy', 2500));
    assert.deepEqual(
      batches.map((batch) => batch.faces.length),
      [1000, 1000, 500],
    );
  });

  test('an empty file yields nothing', async () => {
    assert.equal((await collect(writeText('empty.jsonl', ''))).batches.length, 0);
    assert.equal((await collect(await writeNpy('empty.npy', 0))).batches.length, 0);
  });

  test('a batch size that is not a positive integer is refused', async () => {
    await assert.rejects(collect(await writeNpy('bs.npy', 1), { batchSize: 0 }), /batchSize must be a positive integer/);
  });
});

describe('readFaceFile: whole-file errors', () => {
  test('an unknown extension lists the supported ones', async () => {
    await assertFailsBeforeYielding(
      writeText('faces.csv', 'id,vector\n'),
      {},
      /faces\.csv \(extension "\.csv"\): supported files are \.npy, \.jsonl, \.ndjson/,
    );
  });

  test('a missing file is named', async () => {
    const missing = join(dir, 'missing.jsonl');
    await assertFailsBeforeYielding(missing, {}, new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file$`));
  });

  test('a directory is refused', async () => {
    const path = join(dir, 'folder.jsonl');
    mkdirSync(path); // a directory named like a face file
    await assertFailsBeforeYielding(path, {}, /folder\.jsonl is not a regular file/);
  });
});
