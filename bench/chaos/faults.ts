import { readFileSync } from 'node:fs';
import type { ChaosCluster } from './cluster.js';

/** The State line of /proc/<pid>/status ("T (stopped)" under SIGSTOP). */
function processState(pid: number | undefined): string {
  try {
    return /^State:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'gone';
  }
}

/**
 * One fault: what it does to which host, and how it ends. Only kill -9 ends with the
 * harness's help (a restart, as Kubernetes restarts a crashed pod); a pause, a partition,
 * a slow or lossy link end by themselves, and the process must recover without help.
 */
export interface Fault {
  name: string;
  kind: 'kill' | 'pause' | 'partition' | 'delay' | 'loss';
  target: string;
  restartedByHarness: boolean;
  /** Picks the target when it depends on the cluster's state at that moment (which server leads). */
  prepare?(cluster: ChaosCluster): Promise<void>;
  inject(cluster: ChaosCluster): Promise<void>;
  /** What shows the fault took hold, read while it lasts (a stopped process's state, dropped packets...). */
  evidence(cluster: ChaosCluster): Promise<string>;
  end(cluster: ChaosCluster): Promise<void>;
}

const KIND_OF_PROCESS = { nats: 'nats-server', coordinator: 'coordinator', shard: 'shard replica', proxy: 'proxy' } as const;

function label(cluster: ChaosCluster, target: string): string {
  return `${KIND_OF_PROCESS[cluster.process(target).spec.kind]} ${target}`;
}

type FaultActions = Pick<Fault, 'inject' | 'evidence' | 'end'>;

function faultOn(
  target: string,
  kind: Fault['kind'],
  name: (what: string) => string,
  actions: (cluster: ChaosCluster) => FaultActions,
): (cluster: ChaosCluster) => Fault {
  return (cluster) => ({ name: name(label(cluster, target)), kind, target, restartedByHarness: kind === 'kill', ...actions(cluster) });
}

export const killFault = (target: string) =>
  faultOn(
    target,
    'kill',
    (what) => `kill -9 ${what}`,
    (cluster) => ({
      inject: () => cluster.process(target).kill9(),
      evidence: async () => (cluster.process(target).running ? 'still running!' : 'process gone'),
      end: async () => cluster.restart(target),
    }),
  );

/** SIGSTOP then SIGCONT: a long GC pause, a frozen VM. */
export const pauseFault = (target: string) =>
  faultOn(
    target,
    'pause',
    (what) => `SIGSTOP ${what}`,
    (cluster) => ({
      inject: async () => cluster.process(target).signal('SIGSTOP'),
      evidence: async () => `process state ${processState(cluster.process(target).pid)}`,
      end: async () => cluster.process(target).signal('SIGCONT'),
    }),
  );

/** The host's link down: it neither sends nor receives; its TCP connections stall (no reset), as in a real partition. */
export const partitionFault = (target: string) =>
  faultOn(
    target,
    'partition',
    (what) => `partition ${what}`,
    (cluster) => ({
      inject: async () => cluster.lab.cut(target),
      evidence: async () => ((await cluster.process(target).ready()) ? 'still reachable!' : 'unreachable from the root namespace'),
      end: async () => cluster.lab.heal(target),
    }),
  );

/** Delay (and held segments, as losses show through TCP) on coordinator c1's link to NATS, through the delay proxy. */
export const delayFault = (delayMs: number, lossRate: number, rtoMs = 200) =>
  faultOn(
    'c1',
    'delay',
    (what) => `delay ${delayMs} ms + ${Math.round(lossRate * 100)}% held ${rtoMs} ms, ${what}'s link`,
    (cluster) => ({
      inject: async () => cluster.shapeLink({ delayMs, lossRate, rtoMs }),
      evidence: async () => `${await cluster.proxiedConnections()} client connections through the proxy`,
      end: async () => cluster.clearLink(),
    }),
  );

/** Real packet loss both ways on a host's link: a token bucket too small for its traffic drops the excess (tc tbf). */
export const lossFault = (target: string, rate = '200kbit') =>
  faultOn(
    target,
    'loss',
    (what) => `loss (tbf ${rate}, burst 2kb) ${what}`,
    (cluster) => ({
      inject: async () => cluster.lab.throttle(target, rate, '2kb', '4kb'),
      evidence: async () => `${cluster.lab.droppedPackets(target)} packets dropped so far`,
      end: async () => cluster.lab.unthrottle(target),
    }),
  );

/**
 * SIGSTOP of the server leading the FACES stream, moved first onto the server leading the
 * meta group (the case that lost acknowledged writes and split replicas), unless that is
 * n1, the load's own server, which no fault touches: then the FACES leader alone, or n2;
 * the name says which.
 */
export const pauseStreamLeaderFault = () => (cluster: ChaosCluster) => {
  const fault: Fault = {
    ...pauseFault('n2')(cluster),
    prepare: async () => {
      const { meta, faces } = await cluster.leadFacesFromMetaLeader();
      fault.target = faces && faces !== 'n1' ? faces : 'n2';
      const role =
        faces !== fault.target
          ? `not the leader (${faces ?? '?'} leads)`
          : meta === faces
            ? 'leader of the FACES stream and the meta group'
            : 'the FACES stream leader';
      fault.name = `SIGSTOP nats-server ${fault.target}, ${role}`;
    },
    inject: async () => cluster.process(fault.target).signal('SIGSTOP'),
    evidence: async () => `process state ${processState(cluster.process(fault.target).pid)}`,
    end: async () => cluster.process(fault.target).signal('SIGCONT'),
  };
  return fault;
};
