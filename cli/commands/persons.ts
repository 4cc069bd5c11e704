import { MAX_PERSONS_LIMIT } from '../../libs/protocol/index.js';
import { natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

/** `faceshard persons [--json]`: every person with their face counts (faces.persons, every page), and the faces without a person. */
export async function personsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('persons', argv, { ...natsOption, json: { type: 'boolean', default: false } });
  if (positionals.length) throw new UsageError(`faceshard persons: takes no arguments (got ${positionals.join(' ')})`);
  const client = await connectClient(values, 'reader');
  try {
    let partial = false;
    let unnamed = 0;
    let after: string | undefined;
    do {
      const page = await client.persons({ ...(after === undefined ? {} : { after }), limit: MAX_PERSONS_LIMIT });
      partial ||= page.partial;
      unnamed = page.unnamed;
      for (const p of page.persons) console.log(values.json ? JSON.stringify(p) : `${p.person}\t${p.faces}`);
      after = page.next;
    } while (after !== undefined);
    if (values.json) console.log(JSON.stringify({ unnamed }));
    else console.error(`${unnamed} face(s) without a person`);
    if (partial) console.error('partial: a shard did not answer; its persons and faces are not counted');
    return partial ? 3 : 0;
  } finally {
    await client.close();
  }
}
