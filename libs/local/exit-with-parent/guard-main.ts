/**
 * `node guard-main.js PID`: a watchdog for a child that is not Node (nats-server), spawned
 * by the same parent with an IPC channel. When the parent is gone the kernel closes the
 * channel: the guard sends PID SIGTERM, SIGKILL after KILL_AFTER_MS, and exits. It also
 * exits as soon as PID is gone, so a pid freed by a normal stop is never signalled later.
 */
import { isProcessAlive } from './process-alive.js';

const KILL_AFTER_MS = 5_000;
const POLL_MS = 250;

const pid = Number(process.argv[2]);
if (!Number.isInteger(pid) || pid <= 0) process.exit(2);

const poll = setInterval(() => {
  if (!isProcessAlive(pid)) process.exit(0);
}, POLL_MS);

process.once('disconnect', () => {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      process.exit(0);
    }
  };
  signal('SIGTERM');
  clearInterval(poll);
  const started = Date.now();
  setInterval(() => {
    if (!isProcessAlive(pid)) process.exit(0);
    if (Date.now() - started > KILL_AFTER_MS) signal('SIGKILL');
  }, POLL_MS);
});
