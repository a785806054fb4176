/**
 * The system this one replaces, served from its own code beside ours for
 * `make bench PEER=1` (scripts/peer.sh: its Debian packages once, then its
 * run.sh). It takes the same /predict request (one PNG in field `file`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../pipeline/core/paths';
import { freePort } from './harness';

/** Its first start installs its Python packages from pip (slow where pip retries unreachable hosts). */
const START_TIMEOUT_MS = 10 * 60_000;

export type Peer = { url: string; stop(): Promise<void> } | { url: null; reason: string };

/** Starts the replaced system and waits until its /predict answers `request`; when it cannot start, says why. */
export async function startPeer(request: { body: Buffer; contentType: string }, log: (line: string) => void): Promise<Peer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  log(`starting the replaced system (scripts/peer.sh ${port}); its first start installs its packages`);
  const child: ChildProcess = spawn('bash', [path.join(PROJECT_ROOT, 'scripts', 'peer.sh'), String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: uvicorn is stopped with the script
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited: number | null | undefined;
  const ended = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited !== undefined) return;
    process.kill(-child.pid!, 'SIGTERM');
    await ended;
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (exited === undefined && Date.now() < deadline) {
    const answered = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body }).then(
      (res) => res.ok,
      () => false,
    );
    if (answered) return { url, stop };
    await new Promise((r) => setTimeout(r, 1000));
  }
  const why = exited !== undefined ? `it exited (code ${exited})` : `it did not answer within ${START_TIMEOUT_MS / 60_000} minutes`;
  await stop();
  const tail = output.trim().split('\n').slice(-3).join(' | ');
  return { url: null, reason: `${why}${tail ? `; its last output: ${tail}` : ''}` };
}
