// Preloaded (`node --import`) into a child process that must not outlive its parent: the sandbox
// starts the provider this way, with an IPC channel. When the parent dies without stopping the
// child (SIGKILL, a crash), the channel closes and the child stops itself as on SIGTERM (the
// provider's orderly shutdown); a shutdown that hangs is cut short after 20 s.
if (process.channel !== undefined) {
  process.channel.unref(); // the channel alone never keeps the child alive
  process.once('disconnect', () => {
    setTimeout(() => process.exit(1), 20_000).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
