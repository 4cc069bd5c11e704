import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

export async function deleteCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('delete', argv, { ...natsOption });
  if (positionals.length === 0) throw new UsageError('faceshard delete: give one or more face ids');
  const client = await connectClient(values, 'writer');
  try {
    const reply = await client.delete(positionals);
    console.log(`deleted ${reply.tombstones} id(s) (tombstones acknowledged by JetStream)`);
    return 0;
  } finally {
    await client.close();
  }
}
