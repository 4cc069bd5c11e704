import { z } from 'zod';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import { encodeImageFile, type QueryFace } from '../../libs/face-encoder/index.js';
import { QueryReply } from '../../libs/protocol/index.js';
import { FaceVector } from '../../libs/index/vector/index.js';
import { DEFAULT_SAME_PERSON_THRESHOLD, personOfMeta, whoIs, WhoIs } from '../../libs/persons/index.js';
import { encoderOptions, encodeSettings } from './encode.js';
import { intOption, natsOption, numberOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

const VectorArgument = z.union([FaceVector, z.array(FaceVector).min(1)]);

/** What `query IMAGE --json` prints: the reply, `faces[q]`, the photo's face that `results[q]` answers, and with --who `who[q]`, who it is. */
export const QueryJson = QueryReply.extend({
  faces: z
    .array(z.strictObject({ box: z.strictObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }), score: z.number() }))
    .optional(),
  who: z.array(WhoIs).optional(),
});

/** k when --who is given without -k: a vote needs more than one face. */
const WHO_DEFAULT_K = 5;

export interface QueryOutcome {
  faces: Array<Pick<QueryFace, 'box' | 'score'> | undefined>;
  reply: QueryReply;
  roundTripMs: number;
}

/** Runs one query for the given vectors and measures the client's round trip. */
export async function runQuery(
  client: FaceshardClient,
  vectors: ArrayLike<number>[],
  k: number,
  maxDistance?: number,
): Promise<{ reply: QueryReply; roundTripMs: number }> {
  const started = performance.now();
  const reply = await client.query(vectors, { k, maxDistance });
  return { reply, roundTripMs: performance.now() - started };
}

export function printQueryOutcome({ faces, reply, roundTripMs }: QueryOutcome): void {
  reply.results.forEach((matches, i) => {
    const face = faces[i];
    const where = face ? ` at ${face.box.x},${face.box.y} ${face.box.width}x${face.box.height} (score ${face.score.toFixed(2)})` : '';
    console.log(`query ${i}${where}:`);
    if (matches.length === 0) console.log('  no match');
    matches.forEach((m, rank) => {
      const source = typeof (m.meta as { path?: unknown } | undefined)?.path === 'string' ? `  source ${(m.meta as { path: string }).path}` : '';
      const person = personOfMeta(m.meta);
      console.log(`  ${rank + 1}. ${m.id}  distance ${m.distance.toFixed(4)}  shard ${m.shard}${person === undefined ? '' : `  person ${person}`}${source}`);
    });
  });
  const seconds = roundTripMs / 1000;
  const searched = reply.searched * reply.results.length;
  console.log(
    `Query : ${roundTripMs.toFixed(1)} ms (coordinator ${reply.tookMs.toFixed(1)} ms)   Faces searched : ${searched.toLocaleString('en-US')}   ` +
      `Rate : ${Math.round(searched / seconds).toLocaleString('en-US')} /s   Shards : ${reply.shards.answered}/${reply.shards.total}${reply.partial ? ' (PARTIAL: some shards did not answer)' : ''}`,
  );
}

/** `--who`: per query face, the persons among its matches and the verdict. */
export function printWhoIs(who: WhoIs[]): void {
  who.forEach((w, i) => {
    const { verdict } = w;
    const answer =
      verdict.kind === 'match'
        ? `${verdict.person} (distance ${verdict.distance.toFixed(4)}, ${verdict.votes} of ${w.considered} within ${w.threshold})`
        : verdict.kind === 'ambiguous'
          ? `ambiguous between ${verdict.persons.join(', ')} (the nearest is not the one most faces within ${w.threshold} vote for)`
          : `unknown: ${verdict.reason}`;
    console.log(`who is query ${i}: ${answer}`);
    w.persons.forEach((p, rank) =>
      console.log(
        `  ${rank + 1}. ${p.person}  best distance ${p.distance.toFixed(4)} (${p.id})  votes ${p.votes}/${w.considered}${p.faces > p.votes ? `  (${p.faces} among the ${w.considered})` : ''}`,
      ),
    );
    if (w.unnamed) console.log(`  ${w.unnamed} of the ${w.considered} matches have no person`);
  });
}

export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('query', argv, {
    ...natsOption,
    ...encoderOptions,
    vector: { type: 'string' },
    k: { type: 'string', short: 'k' },
    'max-distance': { type: 'string' },
    json: { type: 'boolean', default: false },
    who: { type: 'boolean', default: false },
    threshold: { type: 'string' },
  });
  if (values.threshold !== undefined && !values.who) throw new UsageError('--threshold goes with --who (the same-person distance its vote counts within)');
  const threshold = numberOption('threshold', values.threshold, 0, Number.MAX_VALUE) ?? DEFAULT_SAME_PERSON_THRESHOLD;
  const k = intOption('k', values.k, values.who ? WHO_DEFAULT_K : 1, 1, 1000);
  const maxDistance = numberOption('max-distance', values['max-distance'], 0, Number.MAX_VALUE);
  if ((positionals.length === 1) === (values.vector !== undefined) || positionals.length > 1) {
    throw new UsageError('faceshard query: give either one IMAGE or --vector JSON');
  }

  let vectors: number[][];
  let faces: QueryOutcome['faces'] = [];
  if (values.vector !== undefined) {
    vectors = parseVectorArgument(values.vector);
  } else {
    const found = await encodeImageFile(positionals[0], encodeSettings(values));
    if (found.length === 0) {
      console.error(`no face found in ${positionals[0]}`);
      return 1;
    }
    vectors = found.map((f) => Array.from(f.vector));
    faces = found;
  }

  const client = await connectClient(values, 'reader');
  try {
    const { reply, roundTripMs } = await runQuery(client, vectors, k, maxDistance);
    // faces[q] is the face of the photo that results[q] answers (absent for --vector).
    const faceList = faces.flatMap((f) => (f ? [{ box: f.box, score: f.score }] : []));
    const who = values.who ? reply.results.map((matches) => whoIs(matches, { threshold })) : undefined;
    if (values.json) console.log(JSON.stringify({ ...(faceList.length ? { faces: faceList } : {}), ...reply, ...(who ? { who } : {}) }, null, 2));
    else {
      printQueryOutcome({ faces, reply, roundTripMs });
      if (who) printWhoIs(who);
    }
    return reply.partial ? 3 : 0;
  } finally {
    await client.close();
  }
}

function parseVectorArgument(text: string): number[][] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--vector is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = VectorArgument.safeParse(json);
  if (!parsed.success) throw new UsageError(`--vector must be an array of 128 finite numbers (or an array of such arrays): ${parsed.error.issues[0]?.message}`);
  const data = parsed.data;
  return typeof data[0] === 'number' ? [data as number[]] : (data as number[][]);
}
