import assert from 'node:assert/strict';
import type { FaceToIngest } from '../../libs/nats/client/index.js';
import { bruteForceSearch, storedVector, type Neighbor } from '../../libs/index/face-index/index.js';
import type { Match } from '../../libs/protocol/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';

/** What a cluster should hold after a sequence of writes: last write wins per id, deleted ids gone, vectors as shards store them (on the int16 rows' grid). */
export class ExpectedFaces {
  private byId = new Map<string, Float32Array>();
  upsert(faces: FaceToIngest[]) {
    for (const f of faces) this.byId.set(f.id, storedVector(Float32Array.from(f.vector)));
  }
  delete(ids: string[]) {
    for (const id of ids) this.byId.delete(id);
  }
  /** The brute-force answer over what should be stored (optionally only ids that `keep`). */
  search(queries: Float32Array, k: number, keep: (id: string) => boolean = () => true, maxDistance?: number): Neighbor[][] {
    const ids = [...this.byId.keys()].filter(keep);
    const vectors = new Float32Array(ids.length * FACE_DIMENSIONS);
    ids.forEach((id, i) => vectors.set(this.byId.get(id)!, i * FACE_DIMENSIONS));
    return bruteForceSearch(vectors, ids, queries, k, FACE_DIMENSIONS, maxDistance);
  }
  ids(): string[] {
    return [...this.byId.keys()];
  }
  get size() {
    return this.byId.size;
  }
}

export function assertSameResults(actual: Match[][], expected: Neighbor[][], context = '') {
  assert.equal(actual.length, expected.length);
  actual.forEach((list, q) => {
    assert.deepEqual(
      list.map((m) => m.id),
      expected[q].map((n) => n.id),
      `${context}query ${q}: ids differ`,
    );
    list.forEach((m, i) =>
      assert.ok(Math.abs(m.distance - expected[q][i].distance) < 1e-9, `${context}query ${q} rank ${i}: distance ${m.distance} vs ${expected[q][i].distance}`),
    );
  });
}

export const toFaces = (vectors: Float32Array, ids: string[], meta = true): FaceToIngest[] =>
  ids.map((id, i) => ({ id, vector: vectors.subarray(i * FACE_DIMENSIONS, (i + 1) * FACE_DIMENSIONS), ...(meta ? { meta: { path: `${id}.jpg` } } : {}) }));
