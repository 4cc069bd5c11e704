import { z } from 'zod';
import { FaceId, StoredFaceVector } from '../index/vector/index.js';
import { parsePerson, PersonName } from '../persons/index.js';

/**
 * One line of a .jsonl / .ndjson face file. Unknown fields are refused (likely typos).
 * `person` is stored as the face's `meta.person` (a meta may carry it there itself instead).
 */
export const FaceLine = z.strictObject({
  id: FaceId,
  vector: StoredFaceVector,
  person: PersonName.optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type FaceLine = z.infer<typeof FaceLine>;

export type ParsedFaceLine = { ok: true; id: string; vector: Float32Array; meta?: Record<string, unknown> } | { ok: false; reason: string };

/** Parses and validates one non-blank line; the reason reads well after "line 7: ". */
export function parseFaceLine(text: string): ParsedFaceLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not valid JSON (${(error as Error).message})` };
  }
  const parsed = FaceLine.safeParse(json);
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error.issues) };

  const { id, vector: numbers, person } = parsed.data;
  const withPerson = metaWithPerson(parsed.data.meta, person);
  if (!withPerson.ok) return withPerson;
  const { meta } = withPerson;
  // StoredFaceVector bounds every component (|x| < 2), so none overflows float32.
  const vector = Float32Array.from(numbers);
  return meta === undefined ? { ok: true, id, vector } : { ok: true, id, vector, meta };
}

/** The line's meta with its person in `meta.person`, checked the same way wherever it was given, and given once. */
function metaWithPerson(
  meta: Record<string, unknown> | undefined,
  person: string | undefined,
): { ok: true; meta?: Record<string, unknown> } | { ok: false; reason: string } {
  if (meta === undefined || !Object.hasOwn(meta, 'person')) return { ok: true, meta: person === undefined ? meta : { ...meta, person } };
  if (person !== undefined) return { ok: false, reason: 'person is given twice, as "person" and as "meta.person": give it once' };
  const inMeta = parsePerson(meta.person);
  return inMeta.ok ? { ok: true, meta: { ...meta, person: inMeta.person } } : { ok: false, reason: `meta.${inMeta.reason}` };
}

/** "vector[3]: Invalid input: expected number, received string", plus how many more. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return 'invalid';
  const path = formatPath(first.path);
  const lastKey = first.path[first.path.length - 1];
  // Our own messages already name their field ("vector must have exactly 128 numbers").
  const namesItself = typeof lastKey === 'string' && first.message.startsWith(`${lastKey} `);
  const reason = path === '' || namesItself ? first.message : `${path}: ${first.message}`;
  const more = issues.length - 1;
  return more > 0 ? `${reason} (and ${more} more problem${more > 1 ? 's' : ''})` : reason;
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}
