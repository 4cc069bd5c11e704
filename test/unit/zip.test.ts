import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatasetError, openDataset, type DatasetItem } from '../../libs/image-source/index.js';
import { entryPath } from '../../libs/zip/entry-path.js';
import { openZipArchive, ZipArchiveError } from '../../libs/zip/zip-archive.js';
import { writeZip, type ZipWriteEntry } from '../../libs/zip/write-zip.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'faceshard-zip-unit-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);

async function listed(location: string, options?: Parameters<typeof openDataset>[1]): Promise<DatasetItem[]> {
  const dataset = await openDataset(location, options);
  try {
    return (await dataset.list()).map(({ path: p, refused }) => (refused ? { path: p, refused } : { path: p }));
  } finally {
    await dataset.close();
  }
}

describe('entryPath', () => {
  it('keeps safe relative paths, normalizing separators and dot segments', () => {
    assert.deepEqual(entryPath('people/ada/1.jpg'), { ok: true, path: 'people/ada/1.jpg' });
    assert.deepEqual(entryPath('people\\ada\\1.jpg'), { ok: true, path: 'people/ada/1.jpg' });
    assert.deepEqual(entryPath('./people//ada/./1.jpg'), { ok: true, path: 'people/ada/1.jpg' });
  });

  it('refuses names that escape the dataset or are absolute', () => {
    for (const name of ['../x.jpg', 'a/../../x.jpg', 'a/..', '..\\x.jpg']) {
      const result = entryPath(name);
      assert.equal(result.ok, false, name);
      assert.match((result as { reason: string }).reason, /escapes the dataset/, name);
    }
    for (const name of ['/etc/x.jpg', 'C:\\x.jpg', 'c:x.jpg', '\\\\server\\x.jpg']) {
      const result = entryPath(name);
      assert.equal(result.ok, false, name);
      assert.match((result as { reason: string }).reason, /absolute path/, name);
    }
  });
});

describe('a zip read in place', () => {
  it('lists nested image entries lazily, skipping directories, hidden files and non-images, and reads one', async () => {
    const file = path.join(scratch, 'nested.zip');
    await writeZip(file, [
      { name: 'people/', data: new Uint8Array(0) },
      { name: 'people/ada/1.jpg', data: bytes('ada one'), method: 'store' },
      { name: 'people/ada/2.PNG', data: bytes('ada two') },
      { name: 'people/bob/deeper/3.webp', data: bytes('bob three') },
      { name: 'people/readme.txt', data: bytes('not a photo') },
      { name: '__MACOSX/people/ada/._1.jpg', data: bytes('resource fork') },
      { name: 'people/.hidden.jpg', data: bytes('hidden') },
    ]);
    const dataset = await openDataset(file);
    try {
      assert.equal(dataset.kind, 'zip');
      const items = await dataset.list();
      assert.deepEqual(
        items.map((i) => i.path),
        ['people/ada/1.jpg', 'people/ada/2.PNG', 'people/bob/deeper/3.webp'],
      );
      assert.equal(new TextDecoder().decode(await dataset.read(items[2])), 'bob three');
      assert.equal(new TextDecoder().decode(await dataset.read(items[0])), 'ada one');
    } finally {
      await dataset.close();
    }
  });

  it('gives the same paths (so the same ids) as the folder it was made from', async () => {
    const folder = path.join(scratch, 'photos');
    const files: ZipWriteEntry[] = [
      { name: 'a.jpg', data: bytes('a') },
      { name: 'ada/1.jpg', data: bytes('1') },
      { name: 'ada/2.jpg', data: bytes('2') },
      { name: 'bob/x/3.png', data: bytes('3') },
    ];
    for (const f of files) {
      await mkdir(path.dirname(path.join(folder, f.name)), { recursive: true });
      await writeFile(path.join(folder, f.name), f.data);
    }
    const fromFolder = await listed(folder);
    // `cd photos && zip -r ../inside.zip .` and `zip -r photos.zip photos`
    await writeZip(path.join(scratch, 'inside.zip'), files);
    await writeZip(
      path.join(scratch, 'photos.zip'),
      files.map((f) => ({ ...f, name: `photos/${f.name}` })),
    );
    assert.deepEqual(
      fromFolder.map((i) => i.path),
      ['a.jpg', 'ada/1.jpg', 'ada/2.jpg', 'bob/x/3.png'],
    );
    assert.deepEqual(await listed(path.join(scratch, 'inside.zip')), fromFolder);
    assert.deepEqual(await listed(path.join(scratch, 'photos.zip')), fromFolder);
    // A single top folder not named like the archive is part of the path, as in its folder.
    await writeZip(
      path.join(scratch, 'other.zip'),
      files.map((f) => ({ ...f, name: `photos/${f.name}` })),
    );
    assert.deepEqual((await listed(path.join(scratch, 'other.zip')))[0], { path: 'photos/a.jpg' });
  });

  it('refuses and reports entries that escape the dataset or are absolute, and still lists the rest', async () => {
    const file = path.join(scratch, 'evil.zip');
    await writeZip(file, [
      { name: 'ok.jpg', data: bytes('ok') },
      { name: '../escape.jpg', data: bytes('x') },
      { name: 'a/../../escape2.jpg', data: bytes('x') },
      { name: '/etc/passwd', data: bytes('x') },
      { name: 'C:\\windows\\x.jpg', data: bytes('x') },
    ]);
    const items = await listed(file);
    assert.deepEqual(items[0], { path: 'ok.jpg' });
    assert.deepEqual(
      items.slice(1).map((i) => [i.path, /escapes the dataset|absolute path/.test(i.refused ?? '')]),
      [
        ['../escape.jpg', true],
        ['a/../../escape2.jpg', true],
        ['/etc/passwd', true],
        ['C:/windows/x.jpg', true],
      ],
    );
    const dataset = await openDataset(file);
    const [, escaping] = await dataset.list();
    await assert.rejects(dataset.read(escaping), /refused/);
    await dataset.close();
  });

  it('refuses zip bombs: an entry over the size limit, a suspicious compression ratio, too much in all', async () => {
    const file = path.join(scratch, 'bomb.zip');
    const zeros = new Uint8Array(8 * 1024 * 1024); // deflates ~1000:1
    const noise = new Uint8Array(1.5 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24); // does not compress
    await writeZip(file, [
      { name: 'fine.jpg', data: bytes('fine') },
      { name: 'zeros.jpg', data: zeros },
      { name: 'noise1.jpg', data: noise, method: 'store' },
      { name: 'noise2.jpg', data: noise, method: 'store' },
    ]);
    const defaults = await listed(file);
    assert.deepEqual(defaults[0], { path: 'fine.jpg' });
    assert.match(defaults[1].refused ?? '', /^zip bomb: compression ratio \d+:1, over the 100:1 limit$/);
    assert.deepEqual(defaults.slice(2), [{ path: 'noise1.jpg' }, { path: 'noise2.jpg' }]);

    const tight = await listed(file, { zipLimits: { maxEntryBytes: 4 * 1024 * 1024, maxTotalBytes: 2 * 1024 * 1024 } });
    assert.match(tight[1].refused ?? '', /^zip bomb: entry inflates to 8 MiB, over the 4 MiB per-entry limit$/);
    assert.deepEqual(tight[2], { path: 'noise1.jpg' });
    assert.match(tight[3].refused ?? '', /^zip bomb: the archive inflates to more than 2 MiB in all$/);
  });

  it('never inflates past what an entry declared (a lying header is an unreadable entry)', async () => {
    const file = path.join(scratch, 'liar.zip');
    await writeZip(file, [{ name: 'liar.jpg', data: new Uint8Array(64 * 1024) }]);
    // Patch both headers to declare 10 bytes uncompressed.
    const { readFile } = await import('node:fs/promises');
    const zip = Buffer.from(await readFile(file));
    zip.writeUInt32LE(10, 22); // local header uncompressed size
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(10, central + 24);
    await writeFile(file, zip);
    const dataset = await openDataset(file);
    const [item] = await dataset.list();
    await assert.rejects(dataset.read(item), { name: 'DatasetReadError', message: /cannot read zip entry/ });
    await dataset.close();
  });

  it('names an archive that is not a zip, a truncated zip, and a missing path', async () => {
    const tar = path.join(scratch, 'photos.tar.zip');
    await writeFile(tar, Buffer.concat([Buffer.from('ustar  photos/a.jpg'), Buffer.alloc(2048)]));
    await assert.rejects(openDataset(tar), (error: unknown) => {
      assert.ok(error instanceof DatasetError);
      assert.match(error.message, /^not a zip archive: .*photos\.tar\.zip$/);
      return true;
    });
    await assert.rejects(openZipArchive(tar), (error: unknown) => error instanceof ZipArchiveError && error.kind === 'not_a_zip');

    const good = path.join(scratch, 'truncated.zip');
    await writeZip(good, [{ name: 'a.jpg', data: bytes('a') }]);
    const { readFile } = await import('node:fs/promises');
    await writeFile(good, (await readFile(good)).subarray(0, 20));
    await assert.rejects(openDataset(good), { name: 'DatasetError', message: /not a zip archive/ });

    await assert.rejects(openDataset(path.join(scratch, 'nope.zip')), { name: 'DatasetError', message: /^dataset not found: / });
  });
});
