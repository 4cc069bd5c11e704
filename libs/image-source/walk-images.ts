import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';

/** Lists the image files under a directory tree, in a stable order. */

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFile {
  absolutePath: string;
  /** Relative to the walked directory, always with forward slashes: `trip/beach.jpg`. */
  relativePath: string;
}

export interface WalkOptions {
  /**
   * Called for a subdirectory that cannot be listed (permissions, vanished). Without it,
   * such a directory is an error. The walked directory itself failing is always an error.
   */
  onUnreadableDirectory?(relativePath: string, reason: string): void;
}

export class ImageDirectoryError extends Error {
  override name = 'ImageDirectoryError';
}

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/**
 * Depth-first, entries sorted by name (code-unit order, independent of locale). Hidden
 * entries (names starting with ".", e.g. macOS `._IMG.jpg` resource forks) are skipped.
 * Symbolic links are followed; a directory reached twice (a link cycle) is walked once.
 */
export async function* walkImages(dir: string, options: WalkOptions = {}): AsyncGenerator<ImageFile> {
  const root = path.resolve(dir);
  let stat;
  try {
    stat = await fs.stat(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageDirectoryError(`image directory not found: ${root}`);
    throw new ImageDirectoryError(`cannot read image directory ${root}: ${fsReason(error)}`);
  }
  if (!stat.isDirectory()) throw new ImageDirectoryError(`not a directory: ${root}`);

  const visited = new Set<string>();
  yield* walk(root, '', visited, options);
}

async function* walk(absoluteDir: string, relativeDir: string, visited: Set<string>, options: WalkOptions): AsyncGenerator<ImageFile> {
  let entries: Dirent[];
  try {
    const real = await fs.realpath(absoluteDir);
    if (visited.has(real)) return;
    visited.add(real);
    entries = await fs.readdir(absoluteDir, { withFileTypes: true });
  } catch (error) {
    const reason = `cannot list directory: ${fsReason(error)}`;
    if (relativeDir === '') throw new ImageDirectoryError(`cannot read image directory ${absoluteDir}: ${fsReason(error)}`);
    if (!options.onUnreadableDirectory) throw new ImageDirectoryError(`${absoluteDir}: ${reason}`);
    options.onUnreadableDirectory(relativeDir, reason);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const absolutePath = path.join(absoluteDir, entry.name);
    const relativePath = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
    const kind = await entryKind(entry, absolutePath);
    if (kind === 'directory') {
      yield* walk(absolutePath, relativePath, visited, options);
    } else if (isImageFileName(entry.name) && kind !== 'other') {
      // A broken link named like an image is still listed, so the caller reports it as unreadable.
      yield { absolutePath, relativePath };
    }
  }
}

async function entryKind(entry: Dirent, absolutePath: string): Promise<'file' | 'directory' | 'broken-link' | 'other'> {
  if (entry.isDirectory()) return 'directory';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other'; // sockets, fifos, devices
  try {
    const target = await fs.stat(absolutePath);
    if (target.isDirectory()) return 'directory';
    return target.isFile() ? 'file' : 'other';
  } catch {
    return 'broken-link';
  }
}

function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return error instanceof Error ? error.message : String(error);
}
