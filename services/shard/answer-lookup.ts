import { describeIssues, ProtocolError, ShardLookupRequest, parseLegWait, type HeaderView, type ShardLookupReply } from '../../libs/protocol/index.js';
import { parseJsonBody } from '../../libs/protocol/json-body.js';
import { waitUntilApplied, type ShardContext } from './answer-query.js';

/** A lookup leg (libs/protocol/shard-lookup.ts): which of the ids this replica holds (and their metas, when asked), once it applied what the leg asks. */
export async function answerLookup(ctx: ShardContext, data: Uint8Array, headers: HeaderView | undefined): Promise<ShardLookupReply> {
  const parsed = ShardLookupRequest.safeParse(parseJsonBody(data, 'lookup'));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, 'lookup request'));
  const wait = parseLegWait(headers);
  if (wait) await waitUntilApplied(ctx, wait);
  const found = parsed.data.ids.filter((id) => ctx.index.has(id));
  const metas = parsed.data.meta ? { metas: found.map((id) => ctx.index.metaOf(id) ?? null) } : {};
  return { shard: ctx.shard, appliedSeq: ctx.replay.state.appliedSeq, found, ...metas };
}
