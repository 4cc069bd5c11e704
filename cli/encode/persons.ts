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
 * With --person-from-folder, every photo must be in a person's folder: checked on the
 * listing, before any encoding, so a run never stores some faces nameless by surprise.
 */
export async function checkPersonFolders(location: string, source: PersonSource | undefined): Promise<void> {
  if (source?.kind !== 'folder') return;
  const dataset = await openDataset(location);
  let problems: string[];
  try {
    problems = (await dataset.list())
      .filter((item) => !item.refused)
      .flatMap((item) => {
        const found = personFromPath(item.path, source);
        return found.ok ? [] : [found.reason];
      });
  } finally {
    await dataset.close();
  }
  if (problems.length === 0) return;
  const more = problems.length > SHOWN ? `\n  ... and ${problems.length - SHOWN} more` : '';
  throw new UsageError(
    `--person-from-folder: ${problems.length} photo(s) of ${location} have no person's folder (the layout is <name>/<photo>, as in LFW):\n  ${problems.slice(0, SHOWN).join('\n  ')}${more}`,
  );
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
