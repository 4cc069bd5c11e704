import { natsOption, parseCommandArgs } from '../args.js';
import { connectClient } from '../connect-client.js';

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('status', argv, { ...natsOption, json: { type: 'boolean', default: false } });
  const client = await connectClient(values, 'reader');
  try {
    const status = await client.status();
    if (values.json) {
      console.log(JSON.stringify(status, null, 2));
      return 0;
    }
    console.log(`NATS ${status.nats.server} (nats-server ${status.nats.version}, JetStream ${status.nats.jetstream ? 'on' : 'off'})`);
    console.log(
      `coordinators: ${status.coordinators.length ? status.coordinators.map((c) => `pid ${c.pid}@${c.host} (${c.shards} shards)`).join(', ') : 'none'}`,
    );
    console.log(`encoders: ${status.encoders.length ? status.encoders.map((e) => `pid ${e.pid}@${e.host} (backend ${e.backend})`).join(', ') : 'none'}`);
    const total = status.shards.reduce((sum, s) => sum + Math.max(0, ...s.replicas.map((r) => r.count)), 0);
    for (const shard of status.shards) {
      const replicas = shard.replicas
        .map(
          (r) =>
            `pid ${r.pid} ${r.ready ? 'ready' : 'replaying'} ${r.count} faces${r.listedRows ? ` (${r.listedRows} in approximate lists)` : ''}${r.maintenance && r.maintenance !== 'idle' ? `, index maintenance ${r.maintenance}` : ''} seq ${r.appliedSeq}${r.snapshotSeq !== undefined ? ` (snapshot at ${r.snapshotSeq})` : ''}`,
        )
        .join('; ');
      console.log(`shard ${shard.index}: ${shard.replicas.length} replica(s): ${replicas}`);
    }
    console.log(`faces: ${total}`);
    return 0;
  } finally {
    await client.close();
  }
}
