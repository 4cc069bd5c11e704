import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_ID_BYTES } from '../../libs/index/vector/index.js';
import { faceProblem, MAX_META_BYTES } from '../../libs/protocol/face-checks.js';
import { MAX_PERSON_CHARS } from '../../libs/persons/index.js';
import { writeZip } from '../../libs/zip/write-zip.js';
import { UsageError } from '../../cli/args.js';
import { checkPersonFolders, personSourceOf, withPersons } from '../../cli/encode/persons.js';
import { removeDir, tempDir } from '../helpers/nats.js';

const vector = new Float32Array(128).fill(0.05);
const face = (p: string) => ({ id: `ds/${p}#0`, vector, meta: { path: p, box: { x: 1, y: 2, width: 30, height: 40 }, score: 0.99 } });

describe('encode --person / --person-from-folder', () => {
  let work: string;
  before(async () => {
    work = await tempDir('faceshard-persons-encode-');
  });
  after(async () => {
    if (work) await removeDir(work);
  });

  test('the flags: one or the other, a name checked before anything runs', () => {
    assert.equal(personSourceOf({}), undefined);
    assert.deepEqual(personSourceOf({ person: ' Ada ' }), { kind: 'fixed', person: 'Ada' });
    assert.deepEqual(personSourceOf({ 'person-from-folder': true }), { kind: 'folder' });
    assert.throws(
      () => personSourceOf({ person: 'Ada', 'person-from-folder': true }),
      (e: Error) => e instanceof UsageError && /not both/.test(e.message),
    );
    assert.throws(() => personSourceOf({ person: 'a\tb' }), /--person "a\\tb": person must not contain control characters/);
  });

  test('withPersons puts the person beside path, box and score, and leaves faces alone without a source', () => {
    const faces = [face('Ada/1.jpg'), face('Bob/2.jpg')];
    assert.equal(withPersons(faces, undefined), faces);
    assert.deepEqual(
      withPersons(faces, { kind: 'folder' }).map((f) => f.meta),
      [
        { ...faces[0].meta, person: 'Ada' },
        { ...faces[1].meta, person: 'Bob' },
      ],
    );
    assert.deepEqual(
      withPersons(faces, { kind: 'fixed', person: 'Cy' }).map((f) => (f.meta as { person?: string }).person),
      ['Cy', 'Cy'],
    );
  });

  test('the meta with the longest path and name there can be stays within the meta limit', () => {
    // Worst case: a path of the id limit's bytes, each a control character JSON writes as \u00XX (6 bytes), and 128 four-byte characters.
    const worstPath = `${'\u0001'.repeat(MAX_ID_BYTES - 20)}/x.jpg`;
    const [tagged] = withPersons([face(worstPath)], { kind: 'fixed', person: '😀'.repeat(MAX_PERSON_CHARS) });
    assert.ok(Buffer.byteLength(JSON.stringify(tagged.meta)) > 3000, 'the case is a heavy one');
    assert.equal(faceProblem('id', tagged.vector, tagged.meta), undefined, `meta within ${MAX_META_BYTES} bytes`);
  });

  test('--person-from-folder checks a folder and a zip before encoding: photos outside person folders, and folders holding both photos and photo folders', async () => {
    const folder = path.join(work, 'people');
    await mkdir(path.join(folder, 'Ada'), { recursive: true });
    await writeFile(path.join(folder, 'Ada', '1.jpg'), 'not read: only listed');
    assert.deepEqual(await checkPersonFolders(folder, { kind: 'folder' }), ['Ada']);
    assert.deepEqual(await checkPersonFolders(folder, undefined), []);

    const zip = path.join(work, 'lfw.zip');
    await writeZip(zip, [
      { name: 'lfw/Ada_Lovelace/Ada_Lovelace_0001.jpg', data: Buffer.from('x') },
      { name: 'lfw/Bob/Bob_0001.jpg', data: Buffer.from('x') },
    ]);
    assert.deepEqual(await checkPersonFolders(zip, { kind: 'folder' }), ['Ada_Lovelace', 'Bob'], 'the zip is named like its top folder, which is dropped');
    const strayZip = path.join(work, 'lfw-stray.zip');
    await writeZip(strayZip, [
      { name: 'lfw/Ada_Lovelace/Ada_Lovelace_0001.jpg', data: Buffer.from('x') },
      { name: 'lfw/group.jpg', data: Buffer.from('x') },
    ]);
    // Not named like its top folder, so the zip keeps lfw/ in its paths: lfw/group.jpg would make "lfw" a person.
    await assert.rejects(
      checkPersonFolders(strayZip, { kind: 'folder' }),
      /1 photo\(s\) of .*lfw-stray\.zip have no person's folder .*\n {2}lfw\/group\.jpg: its folder also holds the photo folder lfw\/Ada_Lovelace\/, so which is the person\?$/s,
    );
    const nested = path.join(work, 'nested');
    await mkdir(path.join(nested, 'Ada', '2019'), { recursive: true });
    await writeFile(path.join(nested, 'Ada', '1.jpg'), 'x');
    await writeFile(path.join(nested, 'Ada', '2019', '2.jpg'), 'x');
    await assert.rejects(checkPersonFolders(nested, { kind: 'folder' }), /Ada\/1\.jpg: its folder also holds the photo folder Ada\/2019\//);

    for (let i = 0; i < 7; i++) await writeFile(path.join(folder, `stray${i}.jpg`), 'x');
    await assert.rejects(checkPersonFolders(folder, { kind: 'folder' }), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(
        e.message,
        /^--person-from-folder: 7 photo\(s\) of .*people have no person's folder \(the layout is <name>\/<photo>, as in LFW\):\n {2}stray0\.jpg is not/,
      );
      assert.match(e.message, /\n {2}\.\.\. and 2 more$/);
      return true;
    });
    assert.deepEqual(await checkPersonFolders(folder, { kind: 'fixed', person: 'Ada' }), ['Ada'], 'with --person NAME the folders do not matter');
  });
});
