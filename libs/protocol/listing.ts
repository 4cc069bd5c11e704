import { z } from 'zod';
import { PersonName } from '../persons/index.js';
import { FaceId, MAX_ID_BYTES } from '../index/vector/index.js';
import { describeIssues, ProtocolError } from './errors.js';
import { StoredFace } from './get-faces.js';
import { parseJsonBody } from './json-body.js';

/**
 * `faces.list` and `faces.persons` (coordinators, queue group `coordinator`): what is
 * stored, page by page. The coordinator sends every shard a leg on its query subject with
 * the header `faceshard-leg: list` (or `persons`) and the same body, merges the pages by
 * id (by name), cuts to `limit` and answers `next`: the cursor (`after`) of the next page.
 * A shard that did not answer is named in `unchecked` and the reply is `partial`.
 */
export const LIST_LEG = 'list';
export const PERSONS_LEG = 'persons';
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_PERSONS_LIMIT = 1000;
export const MAX_PERSONS_LIMIT = 10_000;

/** An id prefix to list or delete by: matched as the start of the id's string (`photos/` or `photos/a.jpg#`). */
export const ListPrefix = z
  .string()
  .min(1, 'prefix must not be empty')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= MAX_ID_BYTES, `prefix must be at most ${MAX_ID_BYTES} bytes (ids are at most ${MAX_ID_BYTES})`);

export const ListFacesRequest = z.strictObject({
  prefix: ListPrefix.optional(),
  person: PersonName.optional(),
  /** The cursor: only ids after this one (string order); a reply's `next`. */
  after: FaceId.optional(),
  limit: z.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
});
export type ListFacesRequest = z.infer<typeof ListFacesRequest>;

const Incomplete = {
  /** Some shard did not answer: its faces are missing from this page. */
  partial: z.boolean(),
  /** The shards that did not answer. */
  unchecked: z.array(z.number().int().min(0)).optional(),
};

export const ListFacesReply = z.strictObject({
  /** Sorted by id. */
  faces: z.array(StoredFace),
  /** Ask again with `after: next` for the next page; absent on the last page. */
  next: z.string().optional(),
  ...Incomplete,
});
export type ListFacesReply = z.infer<typeof ListFacesReply>;

export const PersonsRequest = z.strictObject({
  after: z.string().optional(),
  limit: z.number().int().min(1).max(MAX_PERSONS_LIMIT).default(DEFAULT_PERSONS_LIMIT),
});
export type PersonsRequest = z.infer<typeof PersonsRequest>;

export const PersonCount = z.strictObject({ person: z.string(), faces: z.number().int().min(0) });
export type PersonCount = z.infer<typeof PersonCount>;

export const PersonsReply = z.strictObject({
  /** Sorted by name. */
  persons: z.array(PersonCount),
  /** Faces stored without a person (on every shard, whatever the page). */
  unnamed: z.number().int().min(0),
  next: z.string().optional(),
  ...Incomplete,
});
export type PersonsReply = z.infer<typeof PersonsReply>;

/** One shard's page: `more` when entries past the last one pass too (cut by the limit or the message size). */
export const ShardListReply = z.strictObject({
  shard: z.number().int().min(0),
  appliedSeq: z.number().int().min(0),
  faces: z.array(z.strictObject({ id: z.string(), meta: z.unknown().optional() })),
  more: z.boolean(),
});
export type ShardListReply = z.infer<typeof ShardListReply>;

export const ShardPersonsReply = z.strictObject({
  shard: z.number().int().min(0),
  appliedSeq: z.number().int().min(0),
  persons: z.array(PersonCount),
  unnamed: z.number().int().min(0),
  more: z.boolean(),
});
export type ShardPersonsReply = z.infer<typeof ShardPersonsReply>;

/** A request body as JSON; an empty body is `{}` (every field has a default or may be absent). */
function parseOptionalBody<T extends z.ZodType>(schema: T, data: Uint8Array, what: string): z.infer<T> {
  const parsed = schema.safeParse(data.length === 0 ? {} : parseJsonBody(data, what));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, `${what} request`));
  return parsed.data;
}

export function parseListFacesRequest(data: Uint8Array): ListFacesRequest {
  return parseOptionalBody(ListFacesRequest, data, 'list');
}

export function parsePersonsRequest(data: Uint8Array): PersonsRequest {
  return parseOptionalBody(PersonsRequest, data, 'persons');
}
