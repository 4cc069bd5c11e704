import { fileURLToPath } from 'node:url';

export { guardChild } from './guard.js';
export { isProcessAlive } from './process-alive.js';

/** For a Node child's argv before its main: `node --import <this> main.js` (see preload.ts). */
export const PRELOAD_EXIT_WITH_PARENT = fileURLToPath(new URL('./preload.js', import.meta.url));
