/**
 * Loaded first by every process the bench starts (`node --require dist/bench/parent-guard.js ...` for the
 * Tandem services, an import for the bench's own children): when the bench process dies without a chance
 * to clean up (SIGKILL, a crash), its IPC channel closes and this child stops itself instead of running on.
 */
if (process.send) {
  process.on('disconnect', () => {
    // SIGTERM lets a Tandem service stop gracefully; a second chance ends it for good.
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5_000).unref();
  });
}
