import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { prefixedId } from '../protocol/index.js';
import { BatchCollector } from './batch-collector.js';
import { parseFaceLine } from './face-line.js';
import type { FaceBatch, ReadFaceFileOptions } from './types.js';

/**
 * Faces from a JSON-lines file, streamed line by line; blank lines, and the first `fromRow`
 * lines, are skipped. `idPrefix` goes before each line's id.
 */
export async function* readJsonlFaces(path: string, options: ReadFaceFileOptions = {}): AsyncGenerator<FaceBatch> {
  const { idPrefix, fromRow = 0 } = options;
  const collector = new BatchCollector(options.batchSize);
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const rawLine of lines) {
      row++;
      if (row <= fromRow) continue;
      // Editors on Windows like to start UTF-8 files with a byte order mark.
      const line = row === 1 && rawLine.startsWith('\uFEFF') ? rawLine.slice(1) : rawLine;
      if (line.trim() === '') continue;
      const parsed = parseFaceLine(line);
      if (parsed.ok) {
        const { vector, meta } = parsed;
        const id = prefixedId(idPrefix, parsed.id);
        collector.addFace(meta === undefined ? { row, id, vector } : { row, id, vector, meta });
      } else {
        collector.addError({ row, reason: parsed.reason });
      }
      if (collector.full) yield collector.take()!;
    }
  } finally {
    lines.close();
  }
  const rest = collector.take();
  if (rest) yield rest;
}
