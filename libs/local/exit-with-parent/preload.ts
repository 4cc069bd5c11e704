/**
 * Loaded into a Node child with `node --import <this> main.js` (see PRELOAD_EXIT_WITH_PARENT):
 * when the parent that spawned it with an IPC channel is gone (however it died, kill -9
 * included, the kernel closes the channel), the child gets its own SIGTERM and drains
 * as when stopped, and exits anyway after HARD_EXIT_MS (its NATS server is likely gone
 * too, so a drain could otherwise wait for a reconnect). Without a channel it does nothing.
 */
const HARD_EXIT_MS = 5_000;

if (process.channel) {
  process.once('disconnect', () => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'warn', pid: process.pid, msg: 'parent process gone, stopping' }) + '\n');
    setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  });
  // The channel alone must not keep a child alive that has finished its work.
  process.channel.unref();
}
