#!/usr/bin/env node
import { UsageError } from './args.js';
import { adminCommand } from './commands/admin.js';
import { credentialsCommand } from './commands/credentials.js';
import { deleteCommand } from './commands/delete.js';
import { downCommand } from './commands/down.js';
import { encodeCommand } from './commands/encode.js';
import { gatewayCommand } from './commands/gateway.js';
import { ingestCommand } from './commands/ingest.js';
import { listCommand } from './commands/list.js';
import { personsCommand } from './commands/persons.js';
import { queryCommand } from './commands/query.js';
import { serviceCommand } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { synthCommand } from './commands/synth.js';
import { upCommand } from './commands/up.js';

const USAGE = `faceshard: find a face among millions

  faceshard up [--shards N] [--replicas R] [--processes P] [--encoders E] [--nats-port P] [--data-dir D]
               [--detach] [--demo] [--no-auth] [--gateway-port P] [--no-gateway]
      start nats-server, a coordinator, R replicas of N shards (in P shard processes,
      default one per core) and E encoders (default 1) on this machine; one cluster per
      data dir D (default .faceshard); NATS on 4222, or a free port when 4222 is taken;
      --detach: in the background; authentication on unless --no-auth (D/credentials/);
      the HTTP gateway on 127.0.0.1:8080 (a free port if taken; keys in D/gateway-keys.txt)
  faceshard down [--data-dir D]           stop the cluster running on D
  faceshard ingest FILE [--ids IDS] [--persons FILE] [--id-prefix P] [--from-row N]
      import encodings (.npy + ids file, or .jsonl); --from-row N goes on after row N
      of a stopped run (faceshard ingest --help)
  faceshard encode PATH [--workers W] [--queue] [--resume] [--report FILE] [--detector ssd|tiny]
                        [--min-score S] [--min-face-size PX] [--max-faces-per-image N] [--backend B]
                        [--person NAME | --person-from-folder] [--no-thumbnails]
      find every face in a folder or .zip of images and store it (with its person and a thumbnail)
  faceshard query (IMAGE | --vector JSON) [-k K] [--max-distance D] [--who [--threshold T]] [--json]
  faceshard delete ID... | --id-prefix P | --person NAME
      remove faces by id, every face whose id starts with P (a photo, folder or dataset), or a person's
  faceshard list [--id-prefix P] [--person NAME] [--limit N] [--json]
      stored faces by id (id, shard, person)
  faceshard persons [--json]              persons with their face counts
  faceshard status [--json]               shards, replicas, counts (NATS service discovery)
  faceshard synth --faces N --identities M --queries Q --out DIR [--seed S]
      write face-like benchmark data (.npy encodings, ids, queries)
  faceshard shard --index I[,J...] | faceshard coordinator | faceshard encoder
      run one service in this process (env as in a container)
  faceshard gateway --keys FILE [--port P] [--host H] [--cors-origins O,...] [--no-thumbnails]
      the HTTP gateway (REST API under /v1, API keys: lines "KEY ROLE", roles reader,
      writer, admin); port 8080 by default; --creds: its NATS identity (gateway.creds)
  faceshard credentials --out DIR --shards N [--shard-sets "0,2 1,3"] [--rotate NAME]
      the cluster's identities: nats-auth.conf for the servers, one .creds file per role
  faceshard admin init --shards N [--stream-replicas R]   create the streams (admin)
  faceshard admin purge --yes             delete every face (admin)

Every command that talks to a cluster takes --nats URL (default $NATS_URL, else the
cluster \`faceshard up\` runs on --data-dir D (default .faceshard), found through
D/cluster.json, else nats://127.0.0.1:4222), --prefix P (default faces), --creds FILE
(default $NATS_CREDS, else the found cluster's reader, writer or admin credentials as
the command needs) and --tls-ca / --tls-cert / --tls-key FILE (default $NATS_TLS_*).`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  up: upCommand,
  down: downCommand,
  ingest: ingestCommand,
  encode: encodeCommand,
  query: queryCommand,
  delete: deleteCommand,
  list: listCommand,
  persons: personsCommand,
  status: statusCommand,
  synth: synthCommand,
  credentials: credentialsCommand,
  admin: adminCommand,
  shard: (argv) => serviceCommand('shard', argv),
  coordinator: (argv) => serviceCommand('coordinator', argv),
  encoder: (argv) => serviceCommand('encoder', argv),
  gateway: gatewayCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`faceshard: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    // Exit once the message is out: a failed connect can leave a socket open (nats.js keeps
    // waiting for a greeting from a server that is not NATS) that would hold the process.
    const code = err instanceof UsageError ? 2 : 1;
    process.stderr.write(`${err instanceof UsageError ? '' : 'faceshard: '}${err.message}\n`, () => process.exit(code));
  },
);
