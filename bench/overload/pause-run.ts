/**
 * Part 3: load at C_sat while one replica of shard 0 is paused (SIGSTOP) then resumed
 * (SIGCONT), its and its twin's /metrics polled every 250 ms and every process's /healthz
 * probed throughout.
 */
import { startHealthProbes, type ProbeTarget } from './health-probe.js';
import type { OverloadRecord } from './load.js';
import { analysePause, BUCKET_MS, type PauseResult } from './pause-analysis.js';
import { startReplicaRates } from './replica-rates.js';

const BEFORE_MS = 6000;
const AFTER_MS = 5000;

export interface PauseOptions {
  load(durationMs: number): Promise<OverloadRecord>;
  concurrency: number;
  paused: ProbeTarget & { pid: number };
  twin: ProbeTarget;
  probeTargets: ProbeTarget[];
  pauseMs: number;
  legTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function pauseRun(options: PauseOptions): Promise<PauseResult> {
  const rates = startReplicaRates([options.paused, options.twin], BUCKET_MS);
  const probes = startHealthProbes(options.probeTargets);
  const running = options.load(BEFORE_MS + options.pauseMs + AFTER_MS);
  let stoppedAt = 0;
  let resumedAt = 0;
  await sleep(BEFORE_MS);
  try {
    process.kill(options.paused.pid, 'SIGSTOP');
    stoppedAt = Date.now();
    await sleep(options.pauseMs);
  } finally {
    process.kill(options.paused.pid, 'SIGCONT'); // never leave it stopped, whatever failed
    resumedAt = Date.now();
  }
  const record = await running;
  const health = await probes.stop();
  const [pausedRates, twinRates] = await rates.stop();
  const analysis = analysePause({
    record,
    stoppedAt,
    resumedAt,
    pausedRates: pausedRates.perSecond,
    twinRates: twinRates.perSecond,
    ratesStartedAt: rates.startedAt,
    legTimeoutMs: options.legTimeoutMs,
  });
  return {
    ...analysis,
    concurrency: options.concurrency,
    pausedReplica: options.paused.name,
    twinReplica: options.twin.name,
    pauseMs: options.pauseMs,
    health,
  };
}
