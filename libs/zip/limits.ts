/**
 * Limits that keep a hostile archive from exhausting memory or disk. Sizes come from the
 * central directory; yauzl's validateEntrySizes then guarantees an entry never inflates to
 * more than it declared, so the declared sizes can be trusted for these checks.
 */
export interface ZipLimits {
  /** An entry that inflates to more than this is refused (default 64 MiB, the largest photo we read). */
  maxEntryBytes: number;
  /** The image entries of one archive may inflate to this much in all (default 1 TiB). */
  maxTotalBytes: number;
  /**
   * uncompressed / compressed above this is refused as a zip bomb (default 100). Photos are
   * already compressed (JPEG, PNG, WebP deflate to ~1:1); a 1000:1 entry is zeros, not a face.
   */
  maxCompressionRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 1024 ** 4,
  maxCompressionRatio: 100,
};

/** Only ratio-check entries big enough to matter: a tiny file compresses oddly and harms nobody. */
export const RATIO_CHECK_MIN_BYTES = 1024 * 1024;

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1).replace(/\.0$/, '')} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1).replace(/\.0$/, '')} GiB`;
}
