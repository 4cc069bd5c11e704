/**
 * Writes a benchmark data set as files any tool can read: faces.npy (float32, (N, 128)),
 * ids.txt (one id per line, row order), queries.npy (float32, (Q, 128)) and queries.json
 * (per query, the enrolled identity it is a fresh photo of, or null for someone not enrolled).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeNpyFloat32 } from '../npy/write.js';
import { FACE_DIMENSIONS } from '../index/vector/index.js';
import type { BenchmarkData } from './face-model.js';

export interface WrittenFiles {
  faces: string;
  ids: string;
  queries: string;
  queriesJson: string;
}

export async function writeBenchmarkFiles(dir: string, data: BenchmarkData): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const files: WrittenFiles = {
    faces: path.join(dir, 'faces.npy'),
    ids: path.join(dir, 'ids.txt'),
    queries: path.join(dir, 'queries.npy'),
    queriesJson: path.join(dir, 'queries.json'),
  };
  const rows = data.vectors.length / FACE_DIMENSIONS;
  await writeNpyFloat32(files.faces, { data: data.vectors, rows, dims: FACE_DIMENSIONS });
  await writeFile(files.ids, data.ids.join('\n') + '\n');
  await writeNpyFloat32(files.queries, { data: data.queries, rows: data.queries.length / FACE_DIMENSIONS, dims: FACE_DIMENSIONS });
  await writeFile(files.queriesJson, JSON.stringify(data.queryIdentity) + '\n');
  return files;
}
