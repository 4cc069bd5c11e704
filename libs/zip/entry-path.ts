/**
 * The path of a zip entry inside the dataset, or why it cannot be one. Entries are
 * read in place (never extracted), but their names become face ids and are shown to
 * people, so a name that would escape the dataset (`../x.jpg`, `/etc/x.jpg`, `C:\x.jpg`)
 * is refused and reported instead of being silently rewritten.
 */
export type EntryPath = { ok: true; path: string } | { ok: false; reason: string };

export function entryPath(rawName: string): EntryPath {
  const name = rawName.replace(/\\/g, '/');
  if (name.length === 0) return { ok: false, reason: 'empty entry name' };
  if (name.includes('\0')) return { ok: false, reason: 'entry name contains a NUL byte' };
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return { ok: false, reason: `absolute path in archive (${rawName}): refused` };
  const segments = name.split('/');
  if (segments.includes('..')) return { ok: false, reason: `entry path escapes the dataset (${rawName}): refused` };
  // `./a//b.jpg` and `a/b.jpg` are the same file in a folder, so they get the same id.
  const clean = segments.filter((s) => s !== '' && s !== '.');
  if (clean.length === 0) return { ok: false, reason: `empty entry name (${rawName})` };
  return { ok: true, path: clean.join('/') };
}
