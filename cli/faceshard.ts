#!/usr/bin/env node
import { UsageError } from './args.js';
import { deleteCommand } from './commands/delete.js';
import { encodeCommand } from './commands/encode.js';
import { ingestCommand } from './commands/ingest.js';
import { queryCommand } from './commands/query.js';
import { serviceCommand } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { synthCommand } from './commands/synth.js';
import { upCommand } from './commands/up.js';

const USAGE = `faceshard: find a face among millions

  faceshard up [--shards N] [--replicas R] [--processes P] [--nats-port P] [--data-dir D] [--demo]
      start nats-server, a coordinator and R replicas of N shards on this machine,
      each replica set in P shard processes (default: one per core)
  faceshard ingest FILE [--ids IDS]       import encodings (.npy + ids file, or .jsonl)
  faceshard encode PATH [--workers W] [--queue] [--resume] [--report FILE] [--detector ssd|tiny]
                        [--min-score S] [--min-face-size PX] [--max-faces-per-image N] [--backend B]
      find every face in a folder or .zip of images and store it
  faceshard query (IMAGE | --vector JSON) [-k K] [--max-distance D] [--json]
  faceshard delete ID...                  remove faces by id
  faceshard status [--json]               shards, replicas, counts (NATS service discovery)
  faceshard synth --faces N --identities M --queries Q --out DIR [--seed S]
      write face-like benchmark data (.npy encodings, ids, queries)
  faceshard shard --index I[,J...] | faceshard coordinator | faceshard encoder
      run one service in this process (env as in a container)

Every command that talks to a cluster takes --nats URL (default $NATS_URL or
nats://127.0.0.1:4222) and --prefix P (default faces).`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  up: upCommand,
  ingest: ingestCommand,
  encode: encodeCommand,
  query: queryCommand,
  delete: deleteCommand,
  status: statusCommand,
  synth: synthCommand,
  shard: (argv) => serviceCommand('shard', argv),
  coordinator: (argv) => serviceCommand('coordinator', argv),
  encoder: (argv) => serviceCommand('encoder', argv),
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
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exitCode = 2;
    } else {
      console.error(`faceshard: ${err.message}`);
      process.exitCode = 1;
    }
  },
);
