export { SNAPSHOT_VERSION, SnapshotError, SnapshotHeader, snapshotFileName, type SnapshotIdentity } from './format.js';
export { readSnapshot, parseSnapshot, snapshotState, snapshotVectors, type Snapshot } from './read.js';
export { writeSnapshot, type SnapshotSource, type SnapshotWritten } from './write.js';
