import type { Logger } from '../observability/logger.js';

/**
 * Graceful drain on SIGTERM/SIGINT: run the shutdown steps in order (stop taking work,
 * drain NATS, close HTTP), then exit. A second signal, or a step that hangs past the
 * deadline, exits at once.
 */
export function onTerminate(log: Logger, steps: Array<() => Promise<void>>, deadlineMs = 10_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn('second signal, exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('draining', { signal });
    const timer = setTimeout(() => {
      log.error('drain took too long, exiting', { deadlineMs });
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.warn('shutdown step failed', { err });
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** A service's main: a startup failure is one readable log line and exit code 1, never a stack dump loop. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', service: name, msg: 'failed to start', error: err.message }) + '\n');
    process.exit(1);
  });
}
