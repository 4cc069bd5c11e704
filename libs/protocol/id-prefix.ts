import { z } from 'zod';
import { MAX_ID_BYTES } from '../index/vector/index.js';

/**
 * What `--id-prefix` may be: the first part of every id a dataset or file gets
 * (`<prefix>/<path inside>#<face>`, `<prefix>/<row>`). Bounded so that a prefix plus an
 * ordinary path still fits the id limit; a '#' would make `#<face>` ambiguous.
 */
export const MAX_ID_PREFIX_BYTES = 128;

export const IdPrefix = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => !p.includes('#'), "must not contain '#' (it separates an image's path from its face number)")
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), 'must not contain control characters')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= MAX_ID_PREFIX_BYTES, `must be at most ${MAX_ID_PREFIX_BYTES} bytes (ids are at most ${MAX_ID_BYTES})`);

/** `<prefix>/<rest>`, or `rest` alone when there is no prefix. */
export function prefixedId(prefix: string | undefined, rest: string): string {
  return prefix ? `${prefix}/${rest}` : rest;
}

/**
 * Why `prefix` cannot start ids, worded for a person: `source` says where it came from
 * (`--id-prefix`, or the dataset's or file's own name, which --id-prefix can replace).
 */
export function idPrefixProblem(prefix: string, source: { flag: true } | { nameOf: string }): string | undefined {
  const parsed = IdPrefix.safeParse(prefix);
  if (parsed.success) return undefined;
  const problem = parsed.error.issues[0]?.message ?? 'invalid';
  return 'flag' in source
    ? `--id-prefix ${JSON.stringify(prefix)}: ${problem}`
    : `the ${source.nameOf}'s name ${JSON.stringify(prefix)} cannot start its ids (${problem}): give a prefix with --id-prefix`;
}
