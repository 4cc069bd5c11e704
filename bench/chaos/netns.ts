import { execFileSync } from 'node:child_process';
import { isProcessAlive } from '../../libs/local/exit-with-parent/process-alive.js';

/**
 * Hosts on one machine: each host is a network namespace with one veth pair into a
 * bridge in the root namespace (which holds the bridge's address, so the harness reaches
 * every host). Names carry the harness's pid, so a lab left behind by a killed harness
 * is recognised and removed by the next one (sweepStaleLabs).
 */
export interface LabHost {
  name: string;
  netns: string;
  address: string;
  /** The veth end in the root namespace (on the bridge): taking it down cuts the host off. */
  rootLink: string;
}

const NETNS_PREFIX = 'fsc-';
const BRIDGE_PREFIX = 'fscb';

export class NetnsUnavailableError extends Error {
  override name = 'NetnsUnavailableError';
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function ipQuiet(args: string[]): void {
  try {
    ip(args);
  } catch {
    // teardown of something already gone
  }
}

/** Why network namespaces cannot be used here, or undefined when they can (root, `ip`, netns and veth). */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run as root';
  try {
    ip(['-V']);
  } catch {
    return 'the `ip` command (iproute2) is not installed';
  }
  const probe = `${NETNS_PREFIX}probe-${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['-n', probe, 'link', 'add', 'vp0', 'type', 'veth', 'peer', 'name', 'vp1']);
  } catch (err) {
    return `cannot create a network namespace with a veth pair: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`;
  } finally {
    ipQuiet(['netns', 'del', probe]);
  }
  return undefined;
}

/** Removes namespaces and bridges of labs whose harness is gone (killed before its teardown ran). */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  const ownerAlive = (pid: number) => pid === process.pid || isProcessAlive(pid);
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0];
    const pid = Number(/^fsc-(\d+)-/.exec(name)?.[1]);
    if (!pid || ownerAlive(pid)) continue;
    killNetnsProcesses(name);
    ipQuiet(['netns', 'del', name]);
    removed.push(name);
  }
  for (const line of ip(['-o', 'link', 'show', 'type', 'bridge']).split('\n')) {
    const name = /^\d+: (fscb\d+)[:@]/.exec(line)?.[1];
    if (!name || ownerAlive(Number(name.slice(BRIDGE_PREFIX.length)))) continue;
    ipQuiet(['link', 'del', name]);
    removed.push(name);
  }
  return removed;
}

function killNetnsProcesses(netns: string): void {
  let pids: string[] = [];
  try {
    pids = ip(['netns', 'pids', netns]).split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A third octet for 10.77.x.0/24 that no route on this machine uses yet (two labs may run at once). */
function freeSubnet(): string {
  const routes = ip(['-4', 'route', 'show']);
  for (let i = 0; i < 250; i++) {
    const octet = ((process.pid + i * 7) % 250) + 1;
    const subnet = `10.77.${octet}`;
    if (!routes.includes(`${subnet}.0/24`)) return subnet;
  }
  throw new NetnsUnavailableError('no free 10.77.x.0/24 subnet for the chaos lab');
}

export class NetworkLab {
  readonly bridge = `${BRIDGE_PREFIX}${process.pid}`;
  readonly subnet = freeSubnet();
  /** The root namespace's address on the bridge: where the harness (and its proxy) are reached from the hosts. */
  readonly gateway = `${this.subnet}.254`;
  readonly hosts = new Map<string, LabHost>();
  private torn = false;

  constructor() {
    ip(['link', 'add', this.bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    ip(['link', 'set', this.bridge, 'up']);
  }

  /** A new host (namespace) named `name` with the next address on the bridge. */
  addHost(name: string): LabHost {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`host name must be 1-8 lowercase letters or digits: ${JSON.stringify(name)}`);
    if (this.hosts.has(name)) throw new Error(`host ${name} exists already`);
    const n = this.hosts.size + 1;
    if (n > 250) throw new Error('a lab holds at most 250 hosts');
    const netns = `${NETNS_PREFIX}${process.pid}-${name}`;
    const rootLink = `fv${process.pid}x${n}`;
    const peer = `fp${process.pid}x${n}`;
    const address = `${this.subnet}.${n}`;
    ip(['netns', 'add', netns]);
    ip(['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', peer]);
    ip(['link', 'set', peer, 'netns', netns]);
    ip(['-n', netns, 'link', 'set', peer, 'name', 'eth0']);
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    ip(['link', 'set', rootLink, 'master', this.bridge]);
    ip(['link', 'set', rootLink, 'up']);
    const host = { name, netns, address, rootLink };
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in the lab (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  /** Partition: the host's link down (its packets go nowhere; TCP connections stall, they are not reset). */
  cut(name: string): void {
    ip(['link', 'set', this.host(name).rootLink, 'down']);
  }

  heal(name: string): void {
    ip(['link', 'set', this.host(name).rootLink, 'up']);
  }

  /**
   * Loss by starving a token bucket both ways: packets over `rate` with a tiny burst and
   * queue are dropped (this kernel has no netem). TCP retransmits what it lost.
   */
  throttle(name: string, rate: string, burst: string, limit: string): void {
    const host = this.host(name);
    ip(['link', 'show', host.rootLink]); // a clear error for a missing link before tc runs
    execFileSync('tc', ['qdisc', 'replace', 'dev', host.rootLink, 'root', 'tbf', 'rate', rate, 'burst', burst, 'limit', limit], {
      stdio: 'pipe',
      timeout: 10_000,
    });
    execFileSync('tc', ['-n', host.netns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', rate, 'burst', burst, 'limit', limit], {
      stdio: 'pipe',
      timeout: 10_000,
    });
  }

  /** Packets the token buckets of a host's link dropped (both ends). */
  droppedPackets(name: string): number {
    const host = this.host(name);
    const dropped = (args: string[]) => Number(/dropped (\d+)/.exec(execFileSync('tc', args, { encoding: 'utf8', timeout: 10_000 }))?.[1] ?? 0);
    return dropped(['-s', 'qdisc', 'show', 'dev', host.rootLink]) + dropped(['-n', host.netns, '-s', 'qdisc', 'show', 'dev', 'eth0']);
  }

  unthrottle(name: string): void {
    const host = this.host(name);
    try {
      execFileSync('tc', ['qdisc', 'del', 'dev', host.rootLink, 'root'], { stdio: 'pipe', timeout: 10_000 });
    } catch {
      // none set
    }
    try {
      execFileSync('tc', ['-n', host.netns, 'qdisc', 'del', 'dev', 'eth0', 'root'], { stdio: 'pipe', timeout: 10_000 });
    } catch {
      // none set
    }
  }

  /** Kills whatever still runs in the namespaces, deletes them (their veth pairs go too) and the bridge. Synchronous: safe in an exit handler. Idempotent. */
  teardown(): void {
    if (this.torn) return;
    this.torn = true;
    for (const host of this.hosts.values()) killNetnsProcesses(host.netns);
    for (const host of this.hosts.values()) ipQuiet(['netns', 'del', host.netns]);
    for (const host of this.hosts.values()) ipQuiet(['link', 'del', host.rootLink]);
    ipQuiet(['link', 'del', this.bridge]);
  }
}
