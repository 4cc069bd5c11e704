import { MAX_LIST_LIMIT, type DeleteWhereReply, type DeleteWhereRequest } from '../../libs/protocol/index.js';
import { deleteFaces, streamLastSeq, type DeleteContext } from './delete-faces.js';
import { listFaces } from './listing-legs.js';

/**
 * `faces.delete-where`: pages through the faces that match (faces.list, as of every write
 * acknowledged before the request) and deletes each page like `faces.delete`, so the log
 * holds ordinary tombstones. Paging goes forward by id, so it ends even while faces are
 * written; a face ingested meanwhile past the cursor is deleted too.
 */
export async function deleteWhere(ctx: DeleteContext, request: DeleteWhereRequest, batchId: string | undefined): Promise<DeleteWhereReply> {
  // Each page's thumbnails are deleted after the answer, not before it (ThumbnailCleaner.deleteLater).
  const pages: DeleteContext = { ...ctx, thumbnails: { ...ctx.thumbnails, deleteFor: async (ids) => ctx.thumbnails.deleteLater(ids) } };
  const listing = { ...ctx, streamSeq: await streamLastSeq(ctx.nc, ctx.subjects) };
  const unchecked = new Set<number>();
  const seq: Record<string, number> = {};
  let deleted = 0;
  let partial = false;
  let after: string | undefined;
  for (let pageNo = 0; ; pageNo++) {
    const page = await listFaces(listing, { ...request, ...(after === undefined ? {} : { after }), limit: MAX_LIST_LIMIT });
    page.unchecked?.forEach((shard) => unchecked.add(shard));
    if (page.faces.length) {
      // A retried request (same batch-id) writes the same records, which JetStream drops as duplicates.
      const reply = await deleteFaces(
        pages,
        page.faces.map((f) => f.id),
        batchId === undefined ? undefined : `${batchId}-${pageNo}`,
      );
      deleted += reply.deleted ?? 0;
      if (reply.unchecked?.length) partial = true;
      for (const [shard, s] of Object.entries(reply.seq)) seq[shard] = Math.max(seq[shard] ?? 0, s);
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  partial ||= unchecked.size > 0;
  return { deleted, partial, ...(unchecked.size ? { unchecked: [...unchecked].sort((a, b) => a - b) } : {}), seq };
}
