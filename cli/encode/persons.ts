import { openDataset } from '../../libs/image-source/index.js';
import type { EncodedFace } from '../../libs/face-encoder/index.js';
import { parsePerson, personFromPath, type PersonSource } from '../../libs/persons/index.js';
import { UsageError } from '../args.js';

/**
 * Who the faces of an encode run belong to: `--person NAME` (every face) or
 * `--person-from-folder` (the folder directly holding each photo), stored as `meta.person`
 * beside `path`, `box` and `score`. The meta stays far under the 4096-byte limit: a path
 * is at most an id's 512 bytes, a name at most 128 characters (512 bytes), the rest ~120.
 */
export function personSourceOf(values: { person?: string; 'person-from-folder'?: boolean }): PersonSource | undefined {
  if (values.person !== undefined && values['person-from-folder'])
    throw new UsageError("give either --person NAME (every face of the run) or --person-from-folder (each photo's folder), not both");
  if (values['person-from-folder']) return { kind: 'folder' };
  if (values.person === undefined) return undefined;
  const parsed = parsePerson(values.person);
  if (!parsed.ok) throw new UsageError(`--person ${JSON.stringify(values.person)}: ${parsed.reason}`);
  return { kind: 'fixed', person: parsed.person };
}

const SHOWN = 5;

/**
 * The persons of a run, sorted (for its summary). With --person-from-folder, every photo
 * must be in a person's folder: checked on the listing, before any encoding, so a run
 * never stores some faces nameless by surprise. A folder that holds photos and other photo folders too is refused: its photos would take
 * its name while the folders below are the persons (`lfw/group.jpg` beside
 * `lfw/Ada/1.jpg` in a zip not named lfw.zip would make "lfw" a person).
 */
export async function checkPersonFolders(location: string, source: PersonSource | undefined): Promise<string[]> {
  if (source === undefined) return [];
  if (source.kind === 'fixed') return [source.person];
  const dataset = await openDataset(location);
  let paths: string[];
  try {
    paths = (await dataset.list()).filter((item) => !item.refused).map((item) => item.path);
  } finally {
    await dataset.close();
  }
  const { persons, problems } = personFolders(paths, source);
  if (problems.length === 0) return persons;
  const more = problems.length > SHOWN ? `\n  ... and ${problems.length - SHOWN} more` : '';
  throw new UsageError(
    `--person-from-folder: ${problems.length} photo(s) of ${location} have no person's folder (the layout is <name>/<photo>, as in LFW):\n  ${problems.slice(0, SHOWN).join('\n  ')}${more}`,
  );
}

/** The persons of the photos at `paths` (sorted, once each), and the photos that have none, with why. */
function personFolders(paths: string[], source: PersonSource): { persons: string[]; problems: string[] } {
  const folderOf = (p: string) => p.slice(0, Math.max(0, p.lastIndexOf('/')));
  // Every folder above a photo's own folder, with one photo folder below it (for the message).
  const above = new Map<string, string>();
  for (const p of paths) {
    const folder = folderOf(p);
    for (let up = folderOf(folder); up !== ''; up = folderOf(up)) if (!above.has(up)) above.set(up, folder);
  }
  const persons = new Set<string>();
  const problems: string[] = [];
  for (const p of paths) {
    const found = personFromPath(p, source);
    const below = above.get(folderOf(p));
    if (!found.ok) problems.push(found.reason);
    else if (below !== undefined) problems.push(`${p}: its folder also holds the photo folder ${below}/, so which is the person?`);
    else persons.add(found.person);
  }
  return { persons: [...persons].sort(), problems };
}

/** The faces with their person in meta.person (after checkPersonFolders, every photo has one). */
export function withPersons(faces: EncodedFace[], source: PersonSource | undefined): EncodedFace[] {
  if (!source) return faces;
  return faces.map((face) => {
    const found = personFromPath(face.meta.path, source);
    if (!found.ok) throw new Error(`${face.meta.path}: ${found.reason}`);
    return { ...face, meta: { ...face.meta, person: found.person } };
  });
}

/** The summary's line on persons: how many, and the first few names. */
export function personsLine(persons: string[], source: PersonSource | undefined): string | undefined {
  if (!source) return undefined;
  const named = persons.slice(0, SHOWN).join(', ') + (persons.length > SHOWN ? `, ... (${persons.length - SHOWN} more)` : '');
  return source.kind === 'fixed'
    ? `every face stored as person ${persons[0]}`
    : `faces stored with the person of their folder: ${persons.length} person(s): ${named}`;
}
