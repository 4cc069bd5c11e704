import {
  bodyBudget,
  itemsWithinBytes,
  parseLegWait,
  parseListFacesRequest,
  parsePersonsRequest,
  type HeaderView,
  type ShardListReply,
  type ShardPersonsReply,
} from '../../libs/protocol/index.js';
import { personOfMeta } from '../../libs/persons/index.js';
import { compareIds } from '../../libs/index/topk/index.js';
import { waitUntilApplied, type ShardContext } from './answer-query.js';

/** A list leg (libs/protocol/listing.ts): this replica's first faces by id that pass the filter, once it applied what the leg asks. */
export async function answerList(ctx: ShardContext, data: Uint8Array, headers: HeaderView | undefined): Promise<ShardListReply> {
  const request = parseListFacesRequest(data);
  const wait = parseLegWait(headers);
  if (wait) await waitUntilApplied(ctx, wait);
  const { person, prefix, after, limit } = request;
  const personOf = cachedPersonOf();
  const page = ctx.index.listIds({ prefix, after, ...(person === undefined ? {} : { where: (meta) => personOf(meta) === person }) }, limit);
  const faces = page.faces.map(({ id, meta }) => (meta === undefined || meta === null ? { id } : { id, meta }));
  const fit = itemsWithinBytes(faces, bodyBudget(ctx.nc));
  return { shard: ctx.shard, appliedSeq: ctx.replay.state.appliedSeq, faces: faces.slice(0, fit), more: page.more || fit < faces.length };
}

/** A persons leg: this replica's persons by name after the cursor with their face counts, and its faces without a person. */
export async function answerPersons(ctx: ShardContext, data: Uint8Array, headers: HeaderView | undefined): Promise<ShardPersonsReply> {
  const { after, limit } = parsePersonsRequest(data);
  const wait = parseLegWait(headers);
  if (wait) await waitUntilApplied(ctx, wait);
  const counts = new Map<string, number>();
  let unnamed = 0;
  const personOf = cachedPersonOf();
  ctx.index.forEachMeta((meta) => {
    const person = personOf(meta);
    if (person === undefined) unnamed++;
    else counts.set(person, (counts.get(person) ?? 0) + 1);
  });
  const names = [...counts.keys()].filter((name) => after === undefined || name > after).sort(compareIds); // code-unit order, like ids and cursors;
  const persons = names.slice(0, limit).map((person) => ({ person, faces: counts.get(person)! }));
  const fit = itemsWithinBytes(persons, bodyBudget(ctx.nc));
  return { shard: ctx.shard, appliedSeq: ctx.replay.state.appliedSeq, persons: persons.slice(0, fit), unnamed, more: names.length > fit };
}

/**
 * `meta.person` checked once per distinct stored name, not once per face: a shard holds
 * many faces of few persons, and the check (trim, length, control characters) is zod's.
 */
function cachedPersonOf(): (meta: unknown) => string | undefined {
  const checked = new Map<string, string | undefined>();
  return (meta) => {
    if (typeof meta !== 'object' || meta === null) return undefined;
    const raw = (meta as { person?: unknown }).person;
    if (typeof raw !== 'string') return undefined;
    if (!checked.has(raw)) checked.set(raw, personOfMeta(meta));
    return checked.get(raw);
  };
}
