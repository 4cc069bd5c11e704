import { z } from 'zod';
import { PersonName } from '../persons/index.js';
import { describeIssues, ProtocolError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { ListPrefix } from './listing.js';

/**
 * `faces.delete-where` (coordinators, queue group `coordinator`): deletes every face whose id
 * starts with `prefix` and/or whose person is `person` (both given: faces matching both).
 * The coordinator pages through `faces.list` and deletes each page's ids the way
 * `faces.delete` does (tombstones in the shard logs). One of the two is required and an
 * empty prefix is refused: emptying the store is the admin's purge, not this.
 */
export const DeleteWhereRequest = z
  .strictObject({ prefix: ListPrefix.optional(), person: PersonName.optional() })
  .refine((r) => r.prefix !== undefined || r.person !== undefined, 'give prefix or person (or both): which faces to delete');
export type DeleteWhereRequest = z.infer<typeof DeleteWhereRequest>;

export const DeleteWhereReply = z.strictObject({
  /** Faces that matched and now have a tombstone. */
  deleted: z.number().int().min(0),
  /** A shard did not answer a page: its matching faces may remain (ask again). */
  partial: z.boolean(),
  unchecked: z.array(z.number().int().min(0)).optional(),
  /** The last log sequence written, per shard. */
  seq: z.record(z.string(), z.number().int()),
});
export type DeleteWhereReply = z.infer<typeof DeleteWhereReply>;

export function parseDeleteWhereRequest(data: Uint8Array): DeleteWhereRequest {
  const parsed = DeleteWhereRequest.safeParse(parseJsonBody(data, 'delete-where'));
  if (!parsed.success) throw new ProtocolError('bad_request', describeIssues(parsed.error, 'delete-where request'));
  return parsed.data;
}
