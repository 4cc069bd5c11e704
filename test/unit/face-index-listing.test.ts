import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaceIndex, type IdFilter } from '../../libs/index/face-index/index.js';
import { seededRandom } from '../helpers/random.js';

/** What listIds must answer, from plain strings: sorted, filtered, cut. */
function expected(faces: Map<string, unknown>, filter: IdFilter, limit: number): { faces: { id: string; meta: unknown }[]; more: boolean } {
  const passing = [...faces]
    .filter(([id]) => (filter.prefix === undefined || id.startsWith(filter.prefix)) && (filter.after === undefined || id > filter.after))
    .filter(([, meta]) => !filter.where || filter.where(meta))
    .map(([id, meta]) => ({ id, meta }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { faces: passing.slice(0, limit), more: passing.length > limit };
}

describe('FaceIndex.listIds', () => {
  test('pages through live ids in string order, by prefix, cursor and meta, after deletes, replacements and a rebuild', () => {
    const random = seededRandom(25);
    const index = new FaceIndex({ dimensions: 2 });
    const model = new Map<string, unknown>();
    // Mixed ids: folders, latin1 and wide (two bytes a unit) ones, one that is a prefix of another.
    const folders = ['a/', 'ab/', 'b/', 'é/', '名/', '名前/', ''];
    for (let i = 0; i < 400; i++) {
      const id = `${folders[i % folders.length]}${Math.floor(random() * 1e6).toString(36)}#${i % 3}`;
      const meta = i % 4 === 0 ? undefined : { person: i % 4 === 1 ? 'ann' : 'bob' };
      index.upsert(id, Float32Array.of(random(), random()), meta);
      model.set(id, meta);
    }
    for (const id of [...model.keys()].filter((_, i) => i % 7 === 0)) {
      index.delete(id);
      model.delete(id);
    }
    const replaced = [...model.keys()][3];
    index.upsert(replaced, Float32Array.of(0, 0), { person: 'cy' });
    model.set(replaced, { person: 'cy' });
    index.rebuild();

    const ann: IdFilter['where'] = (meta) => (meta as { person?: string } | undefined)?.person === 'ann';
    for (const filter of [
      {},
      { prefix: 'a' },
      { prefix: 'a/' },
      { prefix: 'é/' },
      { prefix: '名' },
      { where: ann },
      { prefix: 'b/', where: ann },
      { prefix: 'none/' },
    ]) {
      for (const limit of [1, 7, 1000]) {
        // Page by page with the last id as the cursor: every passing id once, in order.
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = index.listIds({ ...filter, ...(after === undefined ? {} : { after }) }, limit);
          assert.deepEqual(page, expected(model, { ...filter, after }, limit));
          seen.push(...page.faces.map((f) => f.id));
          if (!page.more) break;
          after = page.faces[page.faces.length - 1].id;
        }
        assert.deepEqual(
          seen,
          expected(model, filter, Infinity).faces.map((f) => f.id),
        );
      }
    }
    assert.throws(() => index.listIds({}, 0), /limit must be a positive integer/);
  });

  test('forEachMeta visits the meta of every live face once', () => {
    const index = new FaceIndex({ dimensions: 2 });
    index.upsert('x', Float32Array.of(0, 0), { person: 'ann' });
    index.upsert('y', Float32Array.of(0, 1));
    index.upsert('z', Float32Array.of(1, 1), { person: 'bob' });
    index.upsert('x', Float32Array.of(1, 0), { person: 'cy' });
    index.delete('z');
    const metas: unknown[] = [];
    index.forEachMeta((meta) => metas.push(meta));
    assert.deepEqual(
      metas.sort((a, b) => JSON.stringify(a ?? null).localeCompare(JSON.stringify(b ?? null))),
      [{ person: 'cy' }, undefined],
    );
  });
});
