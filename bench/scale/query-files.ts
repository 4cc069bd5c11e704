/** The queries `faceshard synth` wrote: queries.npy, and queries.json (per query, the enrolled identity or null). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readFaceFile } from '../../libs/face-files/index.js';
import { FACE_DIMENSIONS } from '../../libs/index/vector/index.js';

export interface QuerySet {
  vectors: Float32Array;
  count: number;
  /** True for a query of someone not enrolled. */
  notEnrolled: boolean[];
}

export async function readQueries(dir: string): Promise<QuerySet> {
  const rows: Float32Array[] = [];
  for await (const batch of readFaceFile(path.join(dir, 'queries.npy'))) {
    if (batch.errors.length) throw new Error(`queries.npy row ${batch.errors[0].row}: ${batch.errors[0].reason}`);
    for (const face of batch.faces) rows.push(face.vector);
  }
  const vectors = new Float32Array(rows.length * FACE_DIMENSIONS);
  rows.forEach((v, i) => vectors.set(v, i * FACE_DIMENSIONS));
  const identities = JSON.parse(await readFile(path.join(dir, 'queries.json'), 'utf8')) as unknown[];
  return { vectors, count: rows.length, notEnrolled: identities.map((identity) => identity === null) };
}
