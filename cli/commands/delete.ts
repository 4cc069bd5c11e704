import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

export async function deleteCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('delete', argv, { ...natsOption });
  if (positionals.length === 0) throw new UsageError('faceshard delete: give one or more face ids');
  const client = await connectClient(values, 'writer');
  try {
    const reply = await client.delete(positionals);
    const asked = new Set(positionals).size;
    if (reply.deleted === undefined) {
      // A coordinator older than the lookup leg cannot say which ids existed.
      console.log(`wrote ${reply.tombstones} tombstone(s) for ${asked} id(s) (this cluster's coordinator does not say which existed)`);
      return 0;
    }
    const notFound = reply.notFound ?? [];
    console.log(`deleted ${reply.deleted} of ${asked} id(s)${notFound.length ? `; not found: ${notFound.join(', ')}` : ''}`);
    if (reply.unchecked?.length)
      console.log(`could not check ${reply.unchecked.length} id(s) (their shard did not answer), tombstones written anyway: ${reply.unchecked.join(', ')}`);
    // Like a partial query: the answer is incomplete, not wrong (ids not found are an answer).
    return reply.unchecked?.length ? 3 : 0;
  } finally {
    await client.close();
  }
}
