/**
 * Polls /healthz of each process like a Kubernetes liveness probe: one request at a time
 * per process, every `periodMs`, `timeoutMs` each; keeps each probe's latency (a timeout
 * or refused connection counts as a failure at the time it took).
 */
import { percentile } from '../percentile.js';

export interface ProbeTarget {
  name: string;
  httpPort: number;
}

export interface ProbeSummary {
  name: string;
  probes: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface HealthProbes {
  /** Ends the polling once the probes in flight have finished. */
  stop(): Promise<ProbeSummary[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startHealthProbes(targets: readonly ProbeTarget[], periodMs = 150, timeoutMs = 3000): HealthProbes {
  let stopped = false;
  const poll = async (target: ProbeTarget): Promise<ProbeSummary> => {
    const latencies: number[] = [];
    let failures = 0;
    while (!stopped) {
      const started = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${target.httpPort}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        if (!res.ok) failures++;
      } catch {
        failures++;
      }
      const took = performance.now() - started;
      latencies.push(took);
      if (took < periodMs) await sleep(periodMs - took);
    }
    return {
      name: target.name,
      probes: latencies.length,
      failures,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.length ? latencies.reduce((a, b) => Math.max(a, b)) : NaN,
    };
  };
  const running = targets.map(poll);
  return {
    stop: () => {
      stopped = true;
      return Promise.all(running);
    },
  };
}
