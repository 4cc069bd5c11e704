import yauzl from 'yauzl';
import { entryPath } from './entry-path.js';
import { DEFAULT_ZIP_LIMITS, formatBytes, RATIO_CHECK_MIN_BYTES, type ZipLimits } from './limits.js';

/**
 * A .zip read in place: entries come lazily from the central directory (yauzl
 * `lazyEntries`), each entry's bytes are inflated only when asked for, and nothing is
 * written to disk. Hostile entries (paths escaping the dataset, zip bombs, encryption)
 * come back as refused entries with a reason, so the caller can report them and go on.
 */

export type ZipArchiveErrorKind = 'not_a_zip' | 'unreadable';

export class ZipArchiveError extends Error {
  override name = 'ZipArchiveError';
  constructor(
    readonly kind: ZipArchiveErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface ZipEntry {
  /** The path inside the dataset (forward slashes, no `.` segments); the raw name when refused. */
  path: string;
  uncompressedSize: number;
  compressedSize: number;
  /** Set when the entry must not be read: why, in words. */
  refused?: string;
  /** The name itself is refused (escapes the dataset, absolute): reported whatever its extension. */
  unsafeName?: boolean;
  /** yauzl's entry, needed to read it. */
  readonly handle: yauzl.Entry;
}

export interface ZipArchive {
  readonly file: string;
  /** Entries in central-directory order, directories left out. */
  entries(): AsyncGenerator<ZipEntry>;
  /** The inflated bytes of an entry that was not refused. */
  read(entry: ZipEntry): Promise<Buffer>;
  close(): void;
}

export async function openZipArchive(file: string, limits: Partial<ZipLimits> = {}): Promise<ZipArchive> {
  const limit: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings off: yauzl would abort the whole archive on the first `../` name; we
    // decode and judge each name ourselves so one bad entry is reported, not fatal.
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
  } catch (error) {
    throw openError(file, error);
  }
  // Errors are taken per readEntry() below; this keeps a stray one from crashing the process.
  zip.on('error', () => undefined);
  let totalBytes = 0;
  let iterating = false;

  async function* entries(): AsyncGenerator<ZipEntry> {
    if (iterating) throw new Error('zip entries can be listed once per open archive');
    iterating = true;
    for await (const handle of eachEntry(zip)) {
      const rawName = yauzl.getFileNameLowLevel(handle.generalPurposeBitFlag, handle.fileNameRaw as unknown as Buffer, handle.extraFields, false);
      if (rawName.endsWith('/')) continue; // a directory entry
      const named = entryPath(rawName);
      const entry: ZipEntry = {
        path: named.ok ? named.path : rawName,
        uncompressedSize: handle.uncompressedSize,
        compressedSize: handle.compressedSize,
        handle,
      };
      if (!named.ok) {
        entry.refused = named.reason;
        entry.unsafeName = true;
      } else {
        const refused = refusal(handle, limit, totalBytes);
        if (refused) entry.refused = refused;
      }
      if (!entry.refused) totalBytes += handle.uncompressedSize;
      yield entry;
    }
  }

  return {
    file,
    entries,
    async read(entry) {
      if (entry.refused) throw new Error(`entry refused: ${entry.refused}`);
      const stream = await zip.openReadStreamPromise(entry.handle);
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        length += chunk.length;
        // validateEntrySizes stops at the declared size; this is the belt to its braces.
        if (length > limit.maxEntryBytes) {
          stream.destroy();
          throw new Error(`entry inflates past ${formatBytes(limit.maxEntryBytes)}`);
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks, length);
    },
    close() {
      zip.close();
    },
  };
}

/** Why an entry with a safe name still must not be inflated, if it must not. */
function refusal(handle: yauzl.Entry, limit: ZipLimits, totalSoFar: number): string | undefined {
  if (handle.isEncrypted()) return 'encrypted entry: cannot be read';
  if (!handle.canDecodeFileData()) return `unsupported compression method ${handle.compressionMethod}`;
  const size = handle.uncompressedSize;
  if (size > limit.maxEntryBytes) return `zip bomb: entry inflates to ${formatBytes(size)}, over the ${formatBytes(limit.maxEntryBytes)} per-entry limit`;
  if (size >= RATIO_CHECK_MIN_BYTES) {
    const ratio = size / Math.max(handle.compressedSize, 1);
    if (ratio > limit.maxCompressionRatio) return `zip bomb: compression ratio ${Math.round(ratio)}:1, over the ${limit.maxCompressionRatio}:1 limit`;
  }
  if (totalSoFar + size > limit.maxTotalBytes) return `zip bomb: the archive inflates to more than ${formatBytes(limit.maxTotalBytes)} in all`;
  return undefined;
}

/** yauzl's lazy iteration as an async generator (its own eachEntry needs decodeStrings). */
async function* eachEntry(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      const onEntry = (entry: yauzl.Entry) => (cleanup(), resolve(entry));
      const onEnd = () => (cleanup(), resolve(undefined));
      const onError = (error: Error) => (cleanup(), reject(new ZipArchiveError('unreadable', `corrupt zip archive: ${error.message}`)));
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
    });
    zip.readEntry();
    const entry = await next;
    if (!entry) return;
    yield entry;
  }
}

function openError(file: string, error: unknown): ZipArchiveError {
  const err = error as NodeJS.ErrnoException;
  const message = err instanceof Error ? err.message : String(error);
  if (err?.code === 'ENOENT') return new ZipArchiveError('unreadable', `archive not found: ${file}`);
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return new ZipArchiveError('unreadable', `permission denied: ${file}`);
  if (/end of central directory record signature not found|invalid central directory/i.test(message)) {
    return new ZipArchiveError('not_a_zip', `not a zip archive: ${file}`);
  }
  return new ZipArchiveError('not_a_zip', `not a readable zip archive: ${file} (${message})`);
}
