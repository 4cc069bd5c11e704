// Children still running when this process exits (process.exit(), an uncaught error, a
// forgotten stop()) are killed, so none is left behind as an orphan holding a port or
// a data directory. Used by libs/local/nats-server and libs/local/supervisor.
import type { ChildProcess } from 'node:child_process';

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` if this process exits while it still runs (forgotten once it exits). */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}
