/**
 * `make run`: the API and one worker as two child processes in the
 * foreground. Ctrl-C (SIGINT) or SIGTERM is passed to both, which stop
 * cleanly; if either dies, the other is stopped and the exit code is non-zero.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from '../pipeline/core/paths';

export function runAll(): void {
  const children: ChildProcess[] = ['serve', 'worker'].map((cmd) => spawn(process.execPath, [CLI, cmd], { stdio: 'inherit', env: process.env }));
  let exitCode = 0;
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  let alive = children.length;
  for (const c of children) {
    c.on('exit', (code, signal) => {
      alive--;
      if (!stopping) {
        console.error(`${c.spawnargs[2]} exited (${code ?? signal}); stopping the rest`);
        exitCode = 1;
        stopAll('SIGTERM');
      }
      if (alive === 0) process.exit(exitCode);
    });
  }
}
