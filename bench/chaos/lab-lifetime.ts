import type { ChaosCluster } from './cluster.js';

/**
 * Tears the cluster's lab down however the harness ends: normally, on an exception, on
 * Ctrl-C / SIGTERM / SIGHUP, or when the run outlives `maxMs`. Returns the disposer.
 */
export function guardLab(cluster: ChaosCluster, maxMs: number, log: (line: string) => void = console.error): () => void {
  const teardown = () => cluster.stop();
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: tearing the chaos lab down`);
    teardown();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', teardown);
  const timer = setTimeout(() => {
    log(`the chaos run outlived its bound (${Math.round(maxMs / 1000)} s): tearing the lab down`);
    teardown();
    process.exit(124);
  }, maxMs);
  timer.unref();
  return () => {
    clearTimeout(timer);
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', teardown);
    teardown();
  };
}
