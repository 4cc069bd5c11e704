export { SnapshotError, SnapshotHeader, snapshotFileName } from './format.js';
export { readSnapshot, parseSnapshot, type Snapshot } from './read.js';
export { writeSnapshot, type SnapshotSource, type SnapshotWritten } from './write.js';
