import { readFile } from 'node:fs/promises';
import { FaceFileError } from './types.js';

/**
 * Reads an ids file: one id per line, in the same order as the vectors. The empty
 * "line" after a final newline is ignored; a trailing \r (Windows line ends) is dropped.
 * Other empty lines are kept so the row numbers stay aligned (they become row errors).
 */
export async function readIdsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FaceFileError(`${path}: no such file (the ids file)`);
    if (code === 'EISDIR') throw new FaceFileError(`ids file ${path} is a directory`);
    throw error;
  }
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}
