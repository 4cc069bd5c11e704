import { initializeCluster } from '../../libs/nats/cluster/initialize.js';
import { describeJobStreamChange } from '../../libs/nats/cluster/job-stream.js';
import { encodeJobNames } from '../../libs/protocol/encode-jobs.js';
import { ensureFaceStream } from '../../libs/nats/cluster/stream.js';
import { connectAs } from '../../libs/nats/nats-auth/index.js';
import { subjectsFor } from '../../libs/protocol/subjects.js';
import { DEFAULT_STREAM_REPLICAS, MAX_STREAM_REPLICAS } from '../../libs/config/env.js';
import { MAX_SHARD_COUNT } from '../../libs/sharding/index.js';
import { intOption, natsOption, parseCommandArgs, UsageError } from '../args.js';
import { resolveTarget, securityOf } from '../connect-client.js';

/**
 * `faceshard admin init --shards N`: creates the cluster's streams and buckets (services
 * only read them). `faceshard admin purge --yes`: deletes every face: the FACES stream is
 * deleted and made again (it refuses purges), and every shard replica, seeing a new
 * stream, empties itself and replays. Both need the admin identity.
 */
export async function adminCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'init' && action !== 'purge') throw new UsageError('faceshard admin: give an action: init --shards N [--stream-replicas R] | purge --yes');
  const { values, positionals } = parseCommandArgs(`admin ${action}`, rest, {
    ...natsOption,
    shards: { type: 'string', default: process.env.SHARD_COUNT },
    'stream-replicas': { type: 'string', default: process.env.STREAM_REPLICAS },
    yes: { type: 'boolean', default: false },
  });
  if (positionals.length) throw new UsageError(`faceshard admin ${action}: unexpected argument "${positionals[0]}"`);
  const target = resolveTarget(values, 'admin');
  const subjects = subjectsFor(target.prefix);
  if (action === 'init' && values.shards === undefined) throw new UsageError('faceshard admin init: --shards N is required (or SHARD_COUNT)');
  if (action === 'purge' && !values.yes) {
    throw new UsageError(
      `faceshard admin purge deletes every face of the cluster at ${target.nats} (stream ${subjects.stream}); nothing brings them back. Run it again with --yes to do it.`,
    );
  }
  const nc = await connectAs({ servers: target.nats.split(',') }, securityOf(target));
  try {
    if (action === 'init') {
      const shards = intOption('shards', values.shards, 1, 1, MAX_SHARD_COUNT);
      const replicas = intOption('stream-replicas', values['stream-replicas'], DEFAULT_STREAM_REPLICAS, 1, MAX_STREAM_REPLICAS);
      const { jobQueue } = await initializeCluster(nc, subjects, { shards, replicas });
      console.log(
        `initialized: stream ${subjects.stream} (deny delete, deny purge), ${shards} shards in ${subjects.configBucket}, thumbnails in ${subjects.thumbnailBucket}, ${replicas} replica(s)`,
      );
      if (jobQueue) console.log(describeJobStreamChange(encodeJobNames(subjects), jobQueue));
      return 0;
    }
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(subjects.stream);
    await jsm.streams.delete(subjects.stream);
    await ensureFaceStream(nc, subjects, info.config.num_replicas);
    console.log(`purged: ${subjects.stream} held ${info.state.messages} record(s); shard replicas notice the new stream, empty themselves and replay it`);
    return 0;
  } finally {
    await nc.close();
  }
}
