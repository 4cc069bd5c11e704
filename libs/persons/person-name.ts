import { z } from 'zod';

/** Characters (Unicode code points) a person's name may have, at most. */
export const MAX_PERSON_CHARS = 128;

/**
 * A person's name as stored in a face's `meta.person`: surrounding white space is dropped,
 * then 1 to 128 characters, none of them control characters (a newline would break the
 * one-per-line persons file and every printed table). Anything else is kept as given:
 * `George_W_Bush` (an LFW folder) stays `George_W_Bush`.
 */
export const PersonName = z
  .string({ error: (issue) => (issue.input === undefined ? 'person is missing' : `person must be a string, got ${typeOf(issue.input)}`) })
  .trim()
  .min(1, 'person must not be empty')
  .refine((name) => [...name].length <= MAX_PERSON_CHARS, `person must be at most ${MAX_PERSON_CHARS} characters`)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  .refine((name) => !/[\u0000-\u001f\u007f-\u009f]/.test(name), 'person must not contain control characters (newlines, tabs, ...)');
export type PersonName = z.infer<typeof PersonName>;

/** The cleaned name, or why `value` cannot be a person (a message that names the rule). */
export function parsePerson(value: unknown): { ok: true; person: string } | { ok: false; reason: string } {
  const parsed = PersonName.safeParse(value);
  if (parsed.success) return { ok: true, person: parsed.data };
  return { ok: false, reason: parsed.error.issues[0]?.message ?? 'person is invalid' };
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
