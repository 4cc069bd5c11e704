import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient, type NatsOptionValues } from '../connect-client.js';

export async function deleteCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('delete', argv, { ...natsOption, 'id-prefix': { type: 'string' }, person: { type: 'string' } });
  const byFilter = values['id-prefix'] !== undefined || values.person !== undefined;
  if (byFilter) {
    if (positionals.length) throw new UsageError('faceshard delete: give face ids, or --id-prefix / --person, not both');
    if (values['id-prefix'] === '') throw new UsageError('faceshard delete: --id-prefix must not be empty (to delete every face: faceshard admin purge)');
    return deleteWhere(values);
  }
  if (positionals.length === 0) throw new UsageError('faceshard delete: give one or more face ids, or --id-prefix P / --person NAME');
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

/** `faceshard delete --id-prefix P | --person NAME`: every matching face (faces.delete-where). */
async function deleteWhere(values: NatsOptionValues & { 'id-prefix'?: string; person?: string }): Promise<number> {
  const client = await connectClient(values, 'writer');
  try {
    const prefix = values['id-prefix'];
    const reply = await client.deleteWhere({ ...(prefix === undefined ? {} : { prefix }), ...(values.person === undefined ? {} : { person: values.person }) });
    console.log(`deleted ${reply.deleted} face(s)`);
    if (reply.partial) console.log(`partial: shard(s) ${reply.unchecked?.join(', ') ?? '?'} did not answer; their matching faces may remain (run it again)`);
    return reply.partial ? 3 : 0;
  } finally {
    await client.close();
  }
}
