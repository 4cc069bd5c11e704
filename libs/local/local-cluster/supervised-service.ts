import { PRELOAD_EXIT_WITH_PARENT } from '../exit-with-parent/index.js';
import type { ChildSpec } from '../supervisor/index.js';
import { serviceProcess, type ServiceKind } from './service-process.js';

/**
 * A service as a child of `faceshard up`'s supervisor that stops by itself (drains, as
 * on SIGTERM) when `up` is gone, however it went: an IPC channel and the preload of
 * libs/local/exit-with-parent.
 */
export function supervisedService(name: string, kind: ServiceKind, env: Record<string, string>): ChildSpec {
  const spec = serviceProcess(kind, env);
  return { name, ...spec, args: ['--import', PRELOAD_EXIT_WITH_PARENT, ...spec.args], ipc: true };
}
