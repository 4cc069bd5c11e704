#!/usr/bin/env node
// Does nats-server itself lose acknowledged publishes when a stream's leader is paused?
// No faceshard service involved: 3 nats-servers as hosts (network namespaces), one R3 stream,
// a publisher pinned to each server, the stream leader SIGSTOPped for a few seconds while they
// publish, then every acknowledged message looked for. `node dist/bench/chaos/jetstream-ack-loss.js [rounds]`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, StorageType, type NatsConnection } from 'nats';
import { findNatsServer } from '../../libs/local/nats-server/index.js';
import { LabProcess } from './lab-process.js';
import { NATS_CLIENT_PORT, NATS_MONITOR_PORT, natsServerConfig } from './nats-config.js';
import { netnsUnavailableReason, NetworkLab, sweepStaleLabs } from './netns.js';
import { httpOk } from './probes.js';
import { stepStreamLeaderDownUntil } from './stream-leader.js';

const PAUSE_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rounds = Number(process.argv[2] ?? 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  console.error('usage: jetstream-ack-loss [rounds 1-20]');
  process.exit(2);
}
const unavailable = netnsUnavailableReason();
if (unavailable) {
  console.error(`jetstream-ack-loss: cannot run here: ${unavailable}`);
  process.exit(2);
}
sweepStaleLabs();
const binary = findNatsServer();
if (!binary) throw new Error('nats-server was not found');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'faceshard-js-loss-'));
mkdirSync(path.join(dataDir, 'logs'));
const lab = new NetworkLab();
const servers: LabProcess[] = [];
const teardown = () => {
  for (const s of servers) if (s.pid && s.running) process.kill(s.pid, 'SIGCONT');
  lab.teardown();
};
process.on('exit', teardown);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const hosts = ['n1', 'n2', 'n3'].map((n) => lab.addHost(n));
for (const host of hosts) {
  const config = path.join(dataDir, `${host.name}.conf`);
  writeFileSync(
    config,
    natsServerConfig({ serverName: host.name, clusterName: 'loss', dataDir, peers: hosts.filter((h) => h !== host).map((h) => h.address) }),
  );
  const p = new LabProcess({
    name: host.name,
    kind: 'nats',
    host,
    command: binary,
    args: ['-c', config],
    env: {},
    logFile: path.join(dataDir, 'logs', `${host.name}.log`),
    probe: () => httpOk(`http://${host.address}:${NATS_MONITOR_PORT}/healthz`),
  });
  p.start();
  servers.push(p);
}
const url = (i: number) => `nats://${hosts[i].address}:${NATS_CLIENT_PORT}`;
for (let tries = 0; !(await Promise.all(servers.map((s) => s.ready()))).every(Boolean); tries++) {
  if (tries > 120) throw new Error('nats-servers not ready after 60 s');
  await sleep(500);
}

let admin: NatsConnection | undefined;
for (let tries = 0; !admin; tries++) {
  try {
    const nc = await connect({ servers: [url(0), url(1), url(2)] });
    await (await nc.jetstreamManager()).streams.add({ name: 'LOSS', subjects: ['loss.>'], num_replicas: 3, storage: StorageType.File });
    admin = nc;
  } catch (err) {
    if (tries > 30) throw err;
    await sleep(1000);
  }
}
const jsm = await admin.jetstreamManager();
// One publisher pinned to each server (it never moves to another), as services connected to each.
const publishers = await Promise.all([0, 1, 2].map((i) => connect({ servers: [url(i)], ignoreClusterUpdates: true, maxReconnectAttempts: -1 })));

const acked = new Map<string, number>();
let next = 0;
let stop = false;
const publishLoop = async (nc: NatsConnection, who: number) => {
  const js = nc.jetstream();
  while (!stop) {
    const id = `m${who}-${next++}`;
    try {
      const ack = await js.publish(`loss.${who}`, new TextEncoder().encode(id), { msgID: id, timeout: 3000 });
      if (!ack.duplicate) acked.set(id, ack.seq);
    } catch {
      // not acknowledged: may or may not be stored
    }
    await sleep(5);
  }
};
const loops = publishers.map((nc, i) => publishLoop(nc, i));

const results: string[] = [];
for (let round = 1; round <= rounds; round++) {
  await sleep(3000);
  // The failing chaos runs paused a server leading both the meta group and the stream: make it so (stream leader step-downs).
  const metaLeader = async () =>
    ((await (await fetch(`http://${hosts[0].address}:${NATS_MONITOR_PORT}/jsz`)).json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader;
  await stepStreamLeaderDownUntil(admin, 'LOSS', async () => (await jsm.streams.info('LOSS')).cluster?.leader === (await metaLeader()), 12);
  const info = await jsm.streams.info('LOSS');
  const jsz = { meta_cluster: { leader: await metaLeader() } };
  const leader = info.cluster?.leader ?? 'n2';
  const target = servers.find((s) => s.name === leader)!;
  const lastBefore = info.state.last_seq;
  target.signal('SIGSTOP');
  await sleep(PAUSE_MS);
  target.signal('SIGCONT');
  let minLast = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const s = await jsm.streams.info('LOSS').catch(() => undefined);
    if (s) minLast = Math.min(minLast, s.state.last_seq);
  }
  results.push(
    `round ${round}: paused ${leader} (stream leader; meta leader ${jsz.meta_cluster?.leader ?? '?'}) at last_seq ${lastBefore}; lowest last_seq seen after: ${minLast}`,
  );
  console.error(results.at(-1));
}
stop = true;
await Promise.all(loops);
await sleep(2000);

// Every acknowledged message must be in the stream at the sequence its ack named.
const info = await jsm.streams.info('LOSS');
const stored = new Map<string, number>();
for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
  const m = await jsm.streams.getMessage('LOSS', { seq }).catch(() => undefined);
  if (m) stored.set(new TextDecoder().decode(m.data), seq);
}
const lost = [...acked].filter(([id]) => !stored.has(id));
const moved = [...acked].filter(([id, seq]) => stored.has(id) && stored.get(id) !== seq);
console.log(results.join('\n'));
console.log(
  `nats-server ${admin.info?.version}: ${acked.size} publishes acknowledged, ${stored.size} messages in the stream; acknowledged but missing: ${lost.length}${
    lost.length
      ? ` (e.g. ${lost
          .slice(0, 5)
          .map(([id, seq]) => `${id}@${seq}`)
          .join(', ')})`
      : ''
  }; stored at another sequence than acknowledged: ${moved.length}`,
);
await Promise.all([...publishers, admin].map((nc) => nc.close()));
teardown();
rmSync(dataDir, { recursive: true, force: true });
process.exit(lost.length > 0 ? 1 : 0);
