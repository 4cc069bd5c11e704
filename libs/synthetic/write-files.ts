/**
 * Writes a benchmark data set as files any tool can read: faces.npy (float32, (N, 128)),
 * ids.txt (one id per line, row order), queries.npy (float32, (Q, 128)) and queries.json
 * (per query, the enrolled identity it is a fresh photo of, or null for someone not enrolled).
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
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
  await writeLines(files.ids, data.ids);
  await writeNpyFloat32(files.queries, { data: data.queries, rows: data.queries.length / FACE_DIMENSIONS, dims: FACE_DIMENSIONS });
  await writeFile(files.queriesJson, JSON.stringify(data.queryIdentity) + '\n');
  return files;
}

/** Lines in batches: one string of 10,000,000 ids would near a string's length limit. */
async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let from = 0; from < lines.length; from += 100_000) await file.write(lines.slice(from, from + 100_000).join('\n') + '\n');
  } finally {
    await file.close();
  }
}
