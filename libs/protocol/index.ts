export * from './subjects.js';
export * from './errors.js';
export * from './query.js';
export * from './shard-leg.js';
export * from './ingest.js';
export * from './face-batch.js';
export * from './log-record.js';
export * from './encode.js';
