// The photos of a .zip, unpacked in the browser (central directory + DecompressionStream('deflate-raw')),
// so the gateway takes them one by one like any photo and the page can show its progress.

const PHOTO = /\.(jpe?g|png|webp)$/i;
/** Bounds for a zip from anywhere: entries looked at, and the size of one photo. */
const MAX_ENTRIES = 10_000;
const MAX_PHOTO_BYTES = 64 * 1024 * 1024;

/** The zip's photos as File objects named by their path inside it; `skipped`: entries left out, with why. */
export async function zipPhotos(zipFile) {
  const bytes = new Uint8Array(await zipFile.arrayBuffer());
  const view = new DataView(bytes.buffer);
  const end = findEndOfCentralDirectory(view);
  const count = view.getUint16(end + 10, true);
  if (count > MAX_ENTRIES) throw new Error(`${zipFile.name}: ${count} entries, more than ${MAX_ENTRIES}`);
  let at = view.getUint32(end + 16, true);
  const photos = [];
  const skipped = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error(`${zipFile.name}: a damaged zip (central directory entry ${i})`);
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/') || name.startsWith('__MACOSX/') || name.split('/').pop().startsWith('.')) continue;
    if (!PHOTO.test(name)) skipped.push(`${name}: not a .jpg, .png or .webp`);
    else if (size > MAX_PHOTO_BYTES) skipped.push(`${name}: larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB`);
    else if (method !== 0 && method !== 8) skipped.push(`${name}: compressed with method ${method} (only stored and deflate are read)`);
    else {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const data = bytes.subarray(start, start + compressed);
      const blob = method === 0 ? new Blob([data]) : await new Response(new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'))).blob();
      photos.push(new File([blob], name, { type: typeOf(name) }));
    }
  }
  return { photos, skipped };
}

function findEndOfCentralDirectory(view) {
  // The record is 22 bytes plus a comment of at most 65,535.
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - 22 - 65_535); at--) {
    if (view.getUint32(at, true) === 0x06054b50) return at;
  }
  throw new Error('not a zip file (no end of central directory)');
}

function typeOf(name) {
  if (/\.png$/i.test(name)) return 'image/png';
  if (/\.webp$/i.test(name)) return 'image/webp';
  return 'image/jpeg';
}
