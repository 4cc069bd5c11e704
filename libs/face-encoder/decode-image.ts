import sharp from 'sharp';

/** Decodes image bytes into 8-bit sRGB pixels, refusing what is not a usable photo. */

export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Raster formats accepted; SVG and others are refused, a face photo is never vector art. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

export type ImageErrorKind = 'empty' | 'unsupported' | 'corrupt' | 'too_large' | 'unreadable';

/** A file or buffer that cannot be turned into pixels; `message` is a readable reason. */
export class ImageError extends Error {
  override name = 'ImageError';
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Row-major RGB, 3 bytes per pixel, upright (EXIF orientation already applied). */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export interface DecodeOptions {
  /** Images with more pixels than this are refused before decoding. */
  maxPixels?: number;
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbPixels> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new ImageError('empty', 'empty file');

  // Header first: dimensions are known without decoding, so huge images cost nothing to refuse.
  const header = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((error: unknown) => {
      throw headerError(error);
    });
  if (!ACCEPTED_FORMATS.has(header.format)) {
    throw new ImageError('unsupported', `not an image or unsupported format (${header.format})`);
  }
  if (header.format === 'heif' && header.compression === 'hevc') {
    // sharp's prebuilt libvips decodes AVIF but not HEVC-coded HEIC.
    throw new ImageError('unsupported', 'unsupported format (HEIC/HEVC); convert it to JPEG first');
  }
  const { width, height } = header;
  if (width * height > maxPixels) {
    throw new ImageError('too_large', `image is ${width}x${height}, over the ${formatMegapixels(maxPixels)} limit`);
  }

  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate() // honour EXIF orientation
      .flatten({ background: '#ffffff' }) // transparent areas become white, alpha goes away
      .toColourspace('srgb') // CMYK, greyscale and 16-bit input all end up as 8-bit sRGB
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data, width: info.width, height: info.height, channels: 3 };
  } catch (error) {
    throw new ImageError('corrupt', `corrupt or truncated image (${sharpMessage(error)})`);
  }
}

function headerError(error: unknown): ImageError {
  const message = sharpMessage(error);
  if (/unsupported image format/i.test(message)) return new ImageError('unsupported', 'not an image or unsupported format');
  if (/empty/i.test(message)) return new ImageError('empty', 'empty file');
  return new ImageError('corrupt', `corrupt or truncated image (${message})`);
}

/** sharp's messages are multi-line libvips logs; the first meaningful line is enough. */
function sharpMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const corruptHeader = /^Input (buffer|file) has corrupt header:\s*/i;
  const line = message
    .replace(corruptHeader, '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line ?? (corruptHeader.test(message) ? 'corrupt header' : 'unknown decoder error');
}

function formatMegapixels(pixels: number): string {
  const mp = pixels / 1_000_000;
  return `${Number.isInteger(mp) ? mp : mp.toFixed(1)} MP`;
}
