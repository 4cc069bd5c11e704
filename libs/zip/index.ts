export { entryPath, type EntryPath } from './entry-path.js';
export { DEFAULT_ZIP_LIMITS, formatBytes, type ZipLimits } from './limits.js';
export { openZipArchive, ZipArchiveError, type ZipArchive, type ZipEntry } from './zip-archive.js';
export { writeZip, type ZipWriteEntry } from './write-zip.js';
