import { open, type FileHandle } from 'node:fs/promises';
import { FaceFileError } from './types.js';

const NEWLINE = 0x0a;
const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads an ids file (or a persons file: `label` names which in errors) a chunk at a time:
 * one id per line, in the same order as the vectors.
 * The empty "line" after a final newline is ignored; a trailing \r (Windows line ends) is
 * dropped. Other empty lines are kept so the row numbers stay aligned (they become row
 * errors). open() counts the ids first (one pass over the bytes), so a count that does not
 * match the vectors is known before any id is used.
 */
export class IdsFileReader {
  private readonly chunk = Buffer.alloc(CHUNK_BYTES);
  /** Bytes of chunk[start, end) not yet split into lines. */
  private start = 0;
  private end = 0;
  private position = 0;
  /** The beginning of a line that runs past the chunk. */
  private partial: Buffer[] = [];
  private taken = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly count: number,
  ) {}

  static async open(path: string, label = 'ids file'): Promise<IdsFileReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new FaceFileError(`${path}: no such file (the ${label})`);
      if (code === 'EISDIR') throw new FaceFileError(`${label} ${path} is a directory`);
      throw error;
    }
    try {
      if ((await handle.stat()).isDirectory()) throw new FaceFileError(`${label} ${path} is a directory`);
      return new IdsFileReader(handle, await countLines(handle));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The next `n` ids in file order (fewer only when the file has no more). */
  async next(n: number): Promise<string[]> {
    const ids: string[] = [];
    while (ids.length < n && this.taken < this.count) {
      ids.push(await this.nextLine());
      this.taken++;
    }
    return ids;
  }

  /** Passes over the next `n` ids (how a run resumes part-way). */
  async skip(n: number): Promise<void> {
    for (let i = 0; i < n && this.taken < this.count; i++, this.taken++) await this.nextLine();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async nextLine(): Promise<string> {
    for (;;) {
      const newline = this.chunk.indexOf(NEWLINE, this.start);
      if (newline !== -1 && newline < this.end) {
        const line = this.lineOf(this.chunk.subarray(this.start, newline));
        this.start = newline + 1;
        return line;
      }
      if (this.start < this.end) this.partial.push(Buffer.from(this.chunk.subarray(this.start, this.end)));
      const { bytesRead } = await this.handle.read(this.chunk, 0, this.chunk.length, this.position);
      this.position += bytesRead;
      this.start = 0;
      this.end = bytesRead;
      // The last line, without a final newline (count says there is one).
      if (bytesRead === 0) return this.lineOf(Buffer.alloc(0));
    }
  }

  /** The text of a line ending with `tail` (and any partial bytes before it), without a final \r. */
  private lineOf(tail: Buffer): string {
    const bytes = this.partial.length ? Buffer.concat([...this.partial, tail]) : tail;
    this.partial = [];
    // UTF-8 never has 0x0a inside a character, so lines split on bytes decode as the whole text would.
    const line = bytes.toString('utf8');
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}

/** Lines as text.split('\n') counts them, minus the empty one after a final newline. */
async function countLines(handle: FileHandle): Promise<number> {
  const chunk = Buffer.alloc(CHUNK_BYTES);
  let lines = 0;
  let last = NEWLINE;
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    for (let at = chunk.indexOf(NEWLINE); at !== -1 && at < bytesRead; at = chunk.indexOf(NEWLINE, at + 1)) lines++;
    last = chunk[bytesRead - 1];
  }
  return last === NEWLINE ? lines : lines + 1;
}
