import { parsePerson } from './person-name.js';

/**
 * Where `faceshard encode` takes each face's person from:
 * - `fixed`: one name for every face of the run (`--person NAME`);
 * - `folder`: the folder that directly holds the image (`--person-from-folder`), the layout
 *   of LFW and similar sets: `people/Ada_Lovelace/1.jpg` encoded as `people/` (path
 *   `Ada_Lovelace/1.jpg`) or as a zip holding `lfw/Ada_Lovelace/1.jpg` both give
 *   `Ada_Lovelace`. The folder directly above, not the top one, so a zip's own top folder
 *   never becomes everyone's name.
 * Never guessed from the folder shape on its own: a dataset sorted in `2019/`, `2020/`
 * folders would silently name everyone "2019".
 */
export type PersonSource = { kind: 'fixed'; person: string } | { kind: 'folder' };

export type PersonFromPath = { ok: true; person: string } | { ok: false; reason: string };

/** The person of the image at `relativePath` (inside its dataset, `/`-separated), or why there is none. */
export function personFromPath(relativePath: string, source: PersonSource): PersonFromPath {
  if (source.kind === 'fixed') return parsePerson(source.person);
  const parts = relativePath.split(/[/\\]/).filter((part) => part !== '' && part !== '.');
  if (parts.length < 2) return { ok: false, reason: `${relativePath} is not in a person's folder (--person-from-folder wants <name>/<photo>)` };
  const folder = parts[parts.length - 2];
  const parsed = parsePerson(folder);
  return parsed.ok ? parsed : { ok: false, reason: `folder ${JSON.stringify(folder)} cannot name a person: ${parsed.reason}` };
}
