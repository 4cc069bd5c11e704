import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { synthCommand } from '../../cli/commands/synth.js';
import { readNpyFile } from '../../libs/npy/read.js';
import { benchmarkData } from '../../libs/synthetic/face-model.js';

test('benchmarkData: same options, same bytes; photos split evenly; queries labelled', () => {
  const a = benchmarkData({ faces: 103, identities: 10, queries: 40, seed: 9 });
  const b = benchmarkData({ faces: 103, identities: 10, queries: 40, seed: 9 });
  assert.deepEqual(a.vectors, b.vectors);
  assert.deepEqual(a.queries, b.queries);
  const perIdentity = new Map<number, number>();
  for (const p of a.identity) perIdentity.set(p, (perIdentity.get(p) ?? 0) + 1);
  assert.equal(perIdentity.size, 10);
  assert.ok([...perIdentity.values()].every((n) => n === 10 || n === 11));
  const enrolled = a.queryIdentity.filter((p) => p !== null);
  assert.ok(enrolled.length > 5 && enrolled.length < 35);
  assert.ok(enrolled.every((p) => /^person-\d{7}$/.test(p!)));
  assert.notDeepEqual(benchmarkData({ faces: 103, identities: 10, queries: 40, seed: 10 }).vectors, a.vectors);
});

test('faceshard synth writes faces.npy, ids.txt, queries.npy, queries.json', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'faceshard-synth-'));
  try {
    assert.equal(await synthCommand(['--faces', '500', '--identities', '100', '--queries', '20', '--out', dir, '--seed', '3']), 0);
    const faces = await readNpyFile(path.join(dir, 'faces.npy'));
    assert.deepEqual([faces.rows, faces.dims], [500, 128]);
    const ids = (await readFile(path.join(dir, 'ids.txt'), 'utf8')).trimEnd().split('\n');
    assert.equal(ids.length, 500);
    assert.equal(new Set(ids).size, 500);
    const queries = await readNpyFile(path.join(dir, 'queries.npy'));
    assert.deepEqual([queries.rows, queries.dims], [20, 128]);
    const labels = JSON.parse(await readFile(path.join(dir, 'queries.json'), 'utf8')) as (string | null)[];
    assert.equal(labels.length, 20);
    const data = benchmarkData({ faces: 500, identities: 100, queries: 20, seed: 3 });
    assert.deepEqual(faces.data, data.vectors);
    assert.deepEqual(labels, data.queryIdentity);
    await assert.rejects(synthCommand(['--faces', '10', '--identities', '20', '--out', dir]), /identities/);
    await assert.rejects(synthCommand(['--out', dir]), /--faces/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
