import { headers as natsHeaders, type NatsConnection } from 'nats';
import type { z } from 'zod';
import { requestJson } from '../../libs/nats/client/request.js';
import {
  bodyBudget,
  itemsWithinBytes,
  LEG_KIND_HEADER,
  legWaitHeaders,
  LIST_LEG,
  PERSONS_LEG,
  ShardListReply,
  ShardPersonsReply,
  type ListFacesReply,
  type ListFacesRequest,
  type PersonCount,
  type PersonsReply,
  type PersonsRequest,
  type Subjects,
} from '../../libs/protocol/index.js';
import { mergePages, type ShardPage } from './merge-pages.js';

const encoder = new TextEncoder();

/** What a listing needs to ask the shards: as of `streamSeq` (every write acknowledged before the request). */
export interface ListingContext {
  nc: NatsConnection;
  subjects: Subjects;
  shardCount: number;
  streamSeq: number;
  timeoutMs: number;
}

/** One page of stored faces from every shard, merged by id (libs/protocol/listing.ts). */
export async function listFaces(ctx: ListingContext, request: ListFacesRequest): Promise<ListFacesReply> {
  const { replies, unchecked } = await askEveryShard(ctx, LIST_LEG, request, ShardListReply);
  const pages: ShardPage<ListFacesReply['faces'][number]>[] = replies.map((r) => ({ items: r.faces.map((f) => ({ ...f, shard: r.shard })), more: r.more }));
  const merged = cutToMessage(
    ctx,
    mergePages(pages, (f) => f.id, request.limit),
    (f) => f.id,
  );
  return { faces: merged.items, ...(merged.next === undefined ? {} : { next: merged.next }), ...incomplete(unchecked) };
}

/** One page of persons with their face counts, summed over the shards. */
export async function listPersons(ctx: ListingContext, request: PersonsRequest): Promise<PersonsReply> {
  const { replies, unchecked } = await askEveryShard(ctx, PERSONS_LEG, request, ShardPersonsReply);
  const pages: ShardPage<PersonCount>[] = replies.map((r) => ({ items: r.persons, more: r.more }));
  const sum = (a: PersonCount, b: PersonCount) => ({ person: a.person, faces: a.faces + b.faces });
  const merged = cutToMessage(
    ctx,
    mergePages(pages, (p) => p.person, request.limit, sum),
    (p) => p.person,
  );
  const unnamed = replies.reduce((total, r) => total + r.unnamed, 0);
  return { persons: merged.items, unnamed, ...(merged.next === undefined ? {} : { next: merged.next }), ...incomplete(unchecked) };
}

function incomplete(unchecked: number[]): { partial: boolean; unchecked?: number[] } {
  return unchecked.length ? { partial: true, unchecked } : { partial: false };
}

/** The merged page cut to what one reply message holds; the cursor moves back with the cut. */
function cutToMessage<T>(ctx: ListingContext, page: { items: T[]; next?: string }, keyOf: (item: T) => string): { items: T[]; next?: string } {
  const fit = itemsWithinBytes(page.items, bodyBudget(ctx.nc));
  if (fit >= page.items.length) return page;
  const items = page.items.slice(0, fit);
  return { items, next: keyOf(items[items.length - 1]) };
}

/** The same leg to every shard (tried twice each); shards that never answered, or answered for another shard, are `unchecked`. */
async function askEveryShard<T extends { shard: number }>(
  ctx: ListingContext,
  kind: string,
  request: object,
  schema: z.ZodType<T>,
): Promise<{ replies: T[]; unchecked: number[] }> {
  const body = encoder.encode(JSON.stringify(request));
  const replies: T[] = [];
  const unchecked: number[] = [];
  await Promise.all(
    Array.from({ length: ctx.shardCount }, async (_, shard) => {
      const h = natsHeaders();
      h.set(LEG_KIND_HEADER, kind);
      legWaitHeaders({ streamSeq: ctx.streamSeq, waitMs: Math.max(10, ctx.timeoutMs - 200) }, (key, value) => h.set(key, value));
      const ask = () => requestJson(ctx.nc, ctx.subjects.shardQuery(shard), body, schema, { timeoutMs: ctx.timeoutMs, headers: h });
      const reply = await ask().catch(() => ask().catch(() => undefined));
      if (reply && reply.shard === shard) replies.push(reply);
      else unchecked.push(shard);
    }),
  );
  return { replies, unchecked: unchecked.sort((a, b) => a - b) };
}
