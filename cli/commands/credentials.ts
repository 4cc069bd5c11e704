import path from 'node:path';
import { openCredentialsDir, ROLES, type Identity } from '../../libs/nats/nats-auth/index.js';
import { DEFAULT_SUBJECT_PREFIX, subjectsFor } from '../../libs/protocol/subjects.js';
import { MAX_SHARD_COUNT } from '../../libs/sharding/index.js';
import { intOption, parseCommandArgs, UsageError } from '../args.js';

/** "0,2 1,3" -> [[0,2],[1,3]]: shard sets served by one process each. */
function shardSets(text: string | undefined, shards: number): number[][] {
  if (!text) return [];
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((set) => set.split(',').map((part) => intOption('shard-sets', part, 0, 0, shards - 1)));
}

function identityFromName(name: string, shards: number): Identity {
  const shard = /^shard-(\d+(?:-\d+)*)$/.exec(name);
  if (shard) return { role: 'shard', shards: shard[1].split('-').map((part) => intOption('rotate', part, 0, 0, shards - 1)) };
  if ((ROLES as readonly string[]).includes(name) && name !== 'shard') return { role: name as Exclude<Identity['role'], 'shard'> };
  throw new UsageError(`--rotate: "${name}" is not an identity (one of ${ROLES.filter((r) => r !== 'shard').join(', ')}, shard-<i>, shard-<i>-<j>)`);
}

/**
 * `faceshard credentials --out DIR --shards N`: the cluster's identities for a deployment
 * (Kubernetes Secrets): the server's nats-auth.conf and one .creds file per identity.
 * Reuses the keys already in DIR; `--rotate NAME` gives NAME a new key and revokes the old.
 */
export async function credentialsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('credentials', argv, {
    out: { type: 'string' },
    shards: { type: 'string' },
    prefix: { type: 'string', default: process.env.SUBJECT_PREFIX ?? DEFAULT_SUBJECT_PREFIX },
    'shard-sets': { type: 'string' },
    rotate: { type: 'string', multiple: true },
  });
  if (positionals.length) throw new UsageError(`faceshard credentials: unexpected argument "${positionals[0]}"`);
  if (!values.out) throw new UsageError('faceshard credentials: --out DIR is required (where the keys and .creds files go)');
  if (values.shards === undefined) throw new UsageError('faceshard credentials: --shards N is required (one shard identity per shard)');
  const shards = intOption('shards', values.shards, 1, 1, MAX_SHARD_COUNT);
  const dir = path.resolve(values.out);
  const store = openCredentialsDir(dir, subjectsFor(values.prefix));
  for (const name of values.rotate ?? []) {
    const revoked = store.rotate(identityFromName(name, shards));
    console.log(
      revoked
        ? `rotated ${name}: new key; the old one (${revoked}) is revoked once the NATS servers reload ${store.serverConfigFile}`
        : `issued ${name} (it had no credentials yet)`,
    );
  }
  const identities: Identity[] = [
    ...ROLES.filter((role) => role !== 'shard').map((role) => ({ role }) as Identity),
    ...Array.from({ length: shards }, (_, i): Identity => ({ role: 'shard', shards: [i] })),
    ...shardSets(values['shard-sets'], shards).map((set): Identity => ({ role: 'shard', shards: set })),
  ];
  console.log(`server authorization: ${store.serverConfigFile} (include it in nats-server's config; public keys only)`);
  for (const identity of identities) console.log(`  ${store.credsFile(identity)}`);
  console.log(`signing keys: ${path.join(dir, 'signing')} (keep them out of the cluster; they issue and revoke identities)`);
  return 0;
}
