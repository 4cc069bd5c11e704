import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from 'nats';
import { initializeCluster } from '../../libs/nats/cluster/initialize.js';
import { serviceProcess } from '../../libs/local/local-cluster/service-process.js';
import { findNatsServer } from '../../libs/local/nats-server/index.js';
import { DEFAULT_SUBJECT_PREFIX, subjectsFor } from '../../libs/protocol/subjects.js';
import { LabProcess, type LabProcessSpec, type ProcessKind } from './lab-process.js';
import { NATS_CLIENT_PORT, NATS_MONITOR_PORT, natsServerConfig } from './nats-config.js';
import { NetworkLab, type LabHost } from './netns.js';
import { httpOk, tcpOpen } from './probes.js';
import { CLEAR_LINK, type LinkShape } from './proxy.js';
import { stepStreamLeaderDownUntil } from './stream-leader.js';

const SERVICE_HTTP_PORT = 8080;
const PROXY_BASE_PORT = 14221;
const PROXY_MAIN = fileURLToPath(new URL('./proxy-main.js', import.meta.url));

export interface ChaosClusterOptions {
  /** Where stores, configs and logs go (created). */
  dataDir: string;
  shards: number;
  replicas: number;
  coordinators: number;
  /** Env for every coordinator / shard replica (on top of what the harness sets). */
  coordinatorEnv?: Record<string, string>;
  shardEnv?: Record<string, string>;
}

/** Host names: n1..n3 nats-servers, c1.. coordinators, s<shard><a|b..> replicas, px the delay proxy in front of c1. */
export const replicaName = (shard: number, replica: number) => `s${shard}${String.fromCharCode(97 + replica)}`;

/**
 * A faceshard cluster whose every process is a host of its own: 3 nats-servers in one
 * JetStream cluster (stream replicas 3), coordinators, shard replicas. The first
 * coordinator reaches NATS only through the delay proxy (host px), so a link fault can
 * slow it; everything else connects directly. No NATS authentication.
 */
export class ChaosCluster {
  readonly processes = new Map<string, LabProcess>();
  readonly natsServers = ['n1', 'n2', 'n3'];
  private proxyControl: LabProcess | undefined;

  private constructor(
    readonly lab: NetworkLab,
    readonly options: ChaosClusterOptions,
  ) {}

  /**
   * The lab's bridge, no hosts yet: guard it (lab-lifetime.ts) before `boot`, so that a
   * Ctrl-C while the cluster starts tears it down too.
   */
  static create(options: ChaosClusterOptions): ChaosCluster {
    return new ChaosCluster(new NetworkLab(), options);
  }

  /** Client URLs of every nats-server (direct). */
  natsUrls(): string {
    return this.natsServers.map((n) => `nats://${this.lab.host(n).address}:${NATS_CLIENT_PORT}`).join(',');
  }

  /** One server's URL: the harness's own client uses n1, which no fault touches (it stands for clients outside the lab). */
  natsUrl(server: string): string {
    return `nats://${this.lab.host(server).address}:${NATS_CLIENT_PORT}`;
  }

  get logDir(): string {
    return path.join(this.options.dataDir, 'logs');
  }

  process(name: string): LabProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process ${name} (have: ${[...this.processes.keys()].join(', ')})`);
    return p;
  }

  byKind(kind: ProcessKind): LabProcess[] {
    return [...this.processes.values()].filter((p) => p.spec.kind === kind);
  }

  private add(spec: Omit<LabProcessSpec, 'logFile'>): LabProcess {
    const p = new LabProcess({ ...spec, logFile: path.join(this.logDir, `${spec.name}.log`) });
    this.processes.set(spec.name, p);
    p.start();
    return p;
  }

  /** Starts every host and process; ready when it returns. On failure the caller's guard tears the lab down. */
  async boot(readyTimeoutMs = 90_000): Promise<void> {
    const { dataDir } = this.options;
    mkdirSync(this.logDir, { recursive: true });
    const binary = findNatsServer();
    if (!binary) throw new Error('nats-server was not found (install the nats-server package)');
    const hosts = this.natsServers.map((n) => this.lab.addHost(n));
    for (const host of hosts) {
      const config = path.join(dataDir, `${host.name}.conf`);
      writeFileSync(
        config,
        natsServerConfig({ serverName: host.name, clusterName: 'chaos', dataDir, peers: hosts.filter((h) => h !== host).map((h) => h.address) }),
      );
      this.add({
        name: host.name,
        kind: 'nats',
        host,
        command: binary,
        args: ['-c', config],
        env: {},
        probe: () => httpOk(`http://${host.address}:${NATS_MONITOR_PORT}/healthz`),
      });
    }
    await this.waitReady(this.byKind('nats'), readyTimeoutMs, 'nats-servers');

    const proxyHost = this.lab.addHost('px');
    const routes = hosts.map((h, i) => `${PROXY_BASE_PORT + i}=${h.address}:${NATS_CLIENT_PORT}`);
    this.proxyControl = this.add({
      name: 'px',
      kind: 'proxy',
      host: proxyHost,
      command: process.execPath,
      args: [PROXY_MAIN, '0.0.0.0', ...routes],
      env: {},
      probe: () => tcpOpen(proxyHost.address, PROXY_BASE_PORT),
    });

    await this.initializeStream(readyTimeoutMs);

    const common = { SHARD_COUNT: String(this.options.shards), HTTP_PORT: String(SERVICE_HTTP_PORT), HTTP_HOST: '0.0.0.0', LOG_LEVEL: 'info' };
    for (let c = 1; c <= this.options.coordinators; c++) {
      const host = this.lab.addHost(`c${c}`);
      const url = c === 1 ? hosts.map((_, i) => `nats://${proxyHost.address}:${PROXY_BASE_PORT + i}`).join(',') : this.natsUrls();
      this.addService(host, 'coordinator', { ...common, ...this.options.coordinatorEnv, NATS_URL: url });
    }
    for (let s = 0; s < this.options.shards; s++) {
      for (let r = 0; r < this.options.replicas; r++) {
        this.addService(this.lab.addHost(replicaName(s, r)), 'shard', {
          ...common,
          ...this.options.shardEnv,
          NATS_URL: this.natsUrls(),
          SHARD_INDEX: String(s),
        });
      }
    }
    await this.waitReady([...this.processes.values()], readyTimeoutMs, 'the cluster');
  }

  private addService(host: LabHost, kind: 'coordinator' | 'shard', env: Record<string, string>): void {
    const spec = serviceProcess(kind, env);
    this.add({
      name: host.name,
      kind,
      host,
      command: spec.command,
      args: spec.args,
      env: spec.env,
      probe: () => httpOk(`http://${host.address}:${SERVICE_HTTP_PORT}/readyz`),
    });
  }

  /** The admin's step: the FACES stream and config bucket with 3 replicas (retried while the JetStream cluster elects its leader). */
  private async initializeStream(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      let nc: NatsConnection | undefined;
      try {
        nc = await connect({ servers: this.natsUrls().split(','), timeout: 3000 });
        await initializeCluster(nc, subjectsFor(DEFAULT_SUBJECT_PREFIX), { shards: this.options.shards, replicas: 3 });
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await nc?.close().catch(() => undefined);
      }
    }
    throw new Error(`could not create the FACES stream with 3 replicas within ${timeoutMs} ms: ${(last as Error)?.message}`);
  }

  /** Waits until every one of `processes` is ready; the ms each took (from the call). */
  async waitReady(processes: LabProcess[], timeoutMs: number, what: string): Promise<Map<string, number>> {
    const started = Date.now();
    const readyAfter = new Map<string, number>();
    while (Date.now() - started < timeoutMs) {
      const pending = processes.filter((p) => !readyAfter.has(p.name));
      const states = await Promise.all(pending.map((p) => p.ready()));
      pending.forEach((p, i) => states[i] && readyAfter.set(p.name, Date.now() - started));
      if (readyAfter.size === processes.length) return readyAfter;
      await new Promise((r) => setTimeout(r, 250));
    }
    const notReady = processes.filter((p) => !readyAfter.has(p.name)).map((p) => `${p.name}${p.running ? '' : ' (not running)'}`);
    throw new Error(`${what}: not ready after ${timeoutMs} ms: ${notReady.join(', ')} (logs in ${this.logDir})`);
  }

  /** What Kubernetes does for a crashed pod: start it again (same host, same store). */
  restart(name: string): void {
    this.process(name).start();
  }

  /** The delay proxy's link shape (c1's link to every nats-server). */
  shapeLink(shape: LinkShape): void {
    const stdin = this.proxyControl?.child?.stdin;
    if (!stdin || stdin.destroyed) throw new Error('the delay proxy is not running');
    stdin.write(`${JSON.stringify(shape)}\n`);
  }

  /** Which server leads the JetStream meta group and the FACES stream, as n1 sees it (n1 is never faulted); undefined where n1 cannot tell. */
  async jetStreamLeaders(): Promise<{ meta?: string; faces?: string }> {
    try {
      const res = await fetch(`http://${this.lab.host('n1').address}:${NATS_MONITOR_PORT}/jsz?streams=true`, { signal: AbortSignal.timeout(1000) });
      const jsz = (await res.json()) as {
        meta_cluster?: { leader?: string };
        account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>;
      };
      const faces = jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((st) => st.name === 'FACES');
      return { meta: jsz.meta_cluster?.leader, faces: faces?.cluster?.leader };
    } catch {
      return {};
    }
  }

  /**
   * Moves the FACES stream's leadership onto the server leading the meta group (stream
   * leader step-downs, at most `tries`), as it was in the runs that lost acknowledged
   * writes; never onto n1, which no fault touches. The leaders after.
   */
  async leadFacesFromMetaLeader(tries = 8): Promise<{ meta?: string; faces?: string }> {
    const nc = await connect({ servers: this.natsUrl('n1'), timeout: 3000 });
    const placed = async () => {
      const { meta, faces } = await this.jetStreamLeaders();
      const wanted = meta && meta !== 'n1' ? meta : undefined;
      return Boolean(faces && faces !== 'n1' && (!wanted || faces === wanted));
    };
    try {
      await stepStreamLeaderDownUntil(nc, 'FACES', placed, tries);
      return await this.jetStreamLeaders();
    } finally {
      await nc.close();
    }
  }

  /** Client connections the nats-servers see coming from the proxy's host (their /connz). */
  async proxiedConnections(): Promise<number> {
    const proxy = this.lab.host('px').address;
    let count = 0;
    for (const n of this.natsServers) {
      try {
        const res = await fetch(`http://${this.lab.host(n).address}:${NATS_MONITOR_PORT}/connz`, { signal: AbortSignal.timeout(1000) });
        const connz = (await res.json()) as { connections?: Array<{ ip: string }> };
        count += (connz.connections ?? []).filter((c) => c.ip === proxy).length;
      } catch {
        // a server down or cut off counts none
      }
    }
    return count;
  }

  clearLink(): void {
    this.shapeLink(CLEAR_LINK);
  }

  /** Kills every process (SIGCONT first, in case one is stopped) and tears the lab down. Synchronous: safe in exit handlers. */
  stop(): void {
    for (const p of this.processes.values()) {
      if (!p.running || !p.pid) continue;
      try {
        process.kill(p.pid, 'SIGCONT');
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.lab.teardown();
  }
}
