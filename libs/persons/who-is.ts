import { z } from 'zod';
import { PersonName } from './person-name.js';

/** face-api's (and dlib's) usual "same person" tolerance on Euclidean descriptor distance. */
export const DEFAULT_SAME_PERSON_THRESHOLD = 0.6;

/** One of a query's top-k matches, as the cluster answers it. */
export interface WhoIsMatch {
  id: string;
  distance: number;
  meta?: unknown;
}

/** A person among the top k. */
export const PersonRank = z.strictObject({
  person: z.string(),
  /** The distance of this person's nearest face, and that face's id. */
  distance: z.number(),
  id: z.string(),
  /** This person's faces among the k within the threshold (distance <= threshold). */
  votes: z.number().int(),
  /** This person's faces among the k, near or far. */
  faces: z.number().int(),
});
export type PersonRank = z.infer<typeof PersonRank>;

export const WhoIsVerdict = z.discriminatedUnion('kind', [
  /** The nearest person is within the threshold and no other person has as many votes. */
  z.strictObject({ kind: z.literal('match'), person: z.string(), distance: z.number(), votes: z.number().int() }),
  /** Within the threshold, but the nearest person is not the one most faces vote for (or two tie): `persons` are the contenders. */
  z.strictObject({ kind: z.literal('ambiguous'), persons: z.array(z.string()) }),
  /** No person within the threshold: `reason` says whether none carried a person or how far the nearest was. */
  z.strictObject({ kind: z.literal('unknown'), reason: z.string() }),
]);
export type WhoIsVerdict = z.infer<typeof WhoIsVerdict>;

/** What whoIs answers (and `faceshard query --who --json` prints per query vector). */
export const WhoIs = z.strictObject({
  /** Every person among the matches, nearest first (equal distance: more votes, then name). */
  persons: z.array(PersonRank),
  verdict: WhoIsVerdict,
  threshold: z.number(),
  /** Matches looked at (the query's k, or fewer when the cluster holds fewer). */
  considered: z.number().int(),
  /** Matches without a usable `meta.person` (none, or not a valid name): they vote for nobody. */
  unnamed: z.number().int(),
});
export type WhoIs = z.infer<typeof WhoIs>;

/**
 * "Who is this", from one query vector's top-k matches: the persons in them ranked by their
 * nearest face, each with its votes (its faces within `threshold`), and a verdict. A pure
 * function of the matches (k is small), so the CLI, the gateway and tests share it.
 */
export function whoIs(matches: readonly WhoIsMatch[], options: { threshold?: number } = {}): WhoIs {
  const threshold = options.threshold ?? DEFAULT_SAME_PERSON_THRESHOLD;
  if (!(Number.isFinite(threshold) && threshold > 0)) throw new RangeError(`threshold must be a number above 0, got ${threshold}`);
  const byPerson = new Map<string, PersonRank>();
  let unnamed = 0;
  for (const match of matches) {
    const person = personOfMeta(match.meta);
    if (person === undefined) {
      unnamed++;
      continue;
    }
    const within = match.distance <= threshold ? 1 : 0;
    const rank = byPerson.get(person);
    if (!rank) byPerson.set(person, { person, distance: match.distance, id: match.id, votes: within, faces: 1 });
    else {
      rank.votes += within;
      rank.faces++;
      if (match.distance < rank.distance) [rank.distance, rank.id] = [match.distance, match.id];
    }
  }
  const persons = [...byPerson.values()].sort(
    (a, b) => a.distance - b.distance || b.votes - a.votes || (a.person < b.person ? -1 : a.person > b.person ? 1 : 0),
  );
  return { persons, verdict: verdictOf(persons, threshold), threshold, considered: matches.length, unnamed };
}

/** From `threshold` up to the next step's (or any higher), whoIs's verdict is `verdict`. */
export const WhoIsStep = z.strictObject({ threshold: z.number(), verdict: WhoIsVerdict });
export type WhoIsStep = z.infer<typeof WhoIsStep>;

/**
 * whoIs's verdict at every threshold at once, for a page whose slider re-judges without asking
 * again. Votes change only where the threshold reaches a named match's distance, so the steps
 * are those distances, ascending (a step that says what the one before it says is left out).
 * At each step some person is within, so no step is unknown: below the first step, or with no
 * steps, the verdict is unknown. One whoIs a distinct distance: O(k^2 log k), small for the k
 * of a photo search.
 */
export function whoIsSteps(matches: readonly WhoIsMatch[]): WhoIsStep[] {
  const distances = [...new Set(matches.filter((m) => personOfMeta(m.meta) !== undefined).map((m) => m.distance))].sort((a, b) => a - b);
  const steps: WhoIsStep[] = [];
  for (const distance of distances) {
    // whoIs wants a threshold above 0; a face at distance 0 is within the smallest one.
    const verdict = whoIs(matches, { threshold: Math.max(distance, Number.MIN_VALUE) }).verdict;
    const previous = steps.at(-1)?.verdict;
    if (previous === undefined || JSON.stringify(previous) !== JSON.stringify(verdict)) steps.push({ threshold: distance, verdict });
  }
  return steps;
}

function verdictOf(persons: readonly PersonRank[], threshold: number): WhoIsVerdict {
  const within = persons.filter((p) => p.votes > 0);
  if (within.length === 0) {
    if (persons.length === 0) return { kind: 'unknown', reason: 'none of the matches carries a person' };
    const nearest = persons[0];
    return { kind: 'unknown', reason: `the nearest person, ${nearest.person}, is at ${nearest.distance.toFixed(4)}, beyond the threshold ${threshold}` };
  }
  const [leader, ...others] = within;
  const rivals = others.filter((p) => p.votes > leader.votes || (p.votes === leader.votes && p.distance === leader.distance));
  if (rivals.length > 0) return { kind: 'ambiguous', persons: [leader, ...rivals].map((p) => p.person) };
  return { kind: 'match', person: leader.person, distance: leader.distance, votes: leader.votes };
}

/** A stored face's person: `meta.person` when it is a valid name (older or foreign metas may hold anything). */
export function personOfMeta(meta: unknown): string | undefined {
  if (typeof meta !== 'object' || meta === null || !('person' in meta)) return undefined;
  const parsed = PersonName.safeParse((meta as { person: unknown }).person);
  return parsed.success ? parsed.data : undefined;
}
