import { isProcessAlive } from '../exit-with-parent/index.js';
import type { Logger } from '../../observability/logger.js';
import { clusterFilePath, readClusterFile, type ClusterFile } from './index.js';

/** The cluster running on `dataDir` per its cluster.json; a file whose pid is dead is ignored (debug log). */
export function findRunningCluster(dataDir: string, log: Pick<Logger, 'debug'>): ClusterFile | undefined {
  const cluster = readClusterFile(dataDir);
  if (!cluster) {
    log.debug('no cluster file', { file: clusterFilePath(dataDir) });
    return undefined;
  }
  if (!isProcessAlive(cluster.pid)) {
    log.debug('ignoring a cluster file whose faceshard up is gone', { file: clusterFilePath(dataDir), pid: cluster.pid });
    return undefined;
  }
  return cluster;
}
