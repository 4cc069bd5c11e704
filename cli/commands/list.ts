import { MAX_LIST_LIMIT } from '../../libs/protocol/index.js';
import { personOfMeta } from '../../libs/persons/index.js';
import { intOption, natsOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

/**
 * `faceshard list [--id-prefix P] [--person NAME] [--limit N] [--json]`: stored faces by id,
 * every page (faces.list) until the end or N faces. (`--prefix` is the subject prefix of
 * every command, hence --id-prefix, as ingest and encode name it.)
 */
export async function listCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('list', argv, {
    ...natsOption,
    'id-prefix': { type: 'string' },
    person: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`faceshard list: takes no arguments (got ${positionals.join(' ')}); filter with --id-prefix or --person`);
  const max = intOption('limit', values.limit, Infinity, 1, Number.MAX_SAFE_INTEGER);
  const client = await connectClient(values, 'reader');
  try {
    let printed = 0;
    let partial = false;
    let after: string | undefined;
    do {
      const page = await client.list({
        ...(values['id-prefix'] === undefined ? {} : { prefix: values['id-prefix'] }),
        ...(values.person === undefined ? {} : { person: values.person }),
        ...(after === undefined ? {} : { after }),
        limit: Math.min(MAX_LIST_LIMIT, max - printed),
      });
      partial ||= page.partial;
      for (const face of page.faces) {
        if (values.json) console.log(JSON.stringify(face));
        else console.log(`${face.id}\tshard ${face.shard}${personOfMeta(face.meta) === undefined ? '' : `\t${personOfMeta(face.meta)}`}`);
      }
      printed += page.faces.length;
      after = page.next;
    } while (after !== undefined && printed < max);
    if (!values.json) console.error(`${printed} face(s)${after === undefined ? '' : ' (more: --limit reached)'}`);
    if (partial) console.error('partial: a shard did not answer; its faces are missing from this list');
    return partial ? 3 : 0;
  } finally {
    await client.close();
  }
}
