/**
 * Set-up as a new user meets it (scripts/setup.sh, scripts/debian-packages.sh): each purpose
 * installs what it needs and no more, apt waits for another apt's lock and says so, and a
 * long install shows a line per package. apt-get and dpkg-query are stand-ins here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from './helpers/paths';

const PACKAGES = path.join(ROOT, 'scripts', 'debian-packages.sh');
const bash = (script: string, env: Record<string, string> = {}) =>
  spawnSync('bash', ['-c', `set -euo pipefail; . '${PACKAGES}'; ${script}`], { encoding: 'utf8', env: { ...process.env, ...env } });

function stub(dir: string, name: string, body: string): void {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(file, 0o755);
}

describe('set-up', () => {
  it('installs for serving only what serving needs; training adds the fonts; the benchmarks Chromium and redis-server; tests Jupyter', () => {
    const list = (purpose: string) => bash(`debian_packages_for ${purpose}`).stdout.trim().split(/\s+/);
    const [serve, train, bench, test] = [list('serve'), list('train'), list('bench'), list('test')];
    for (const p of ['chromium', 'redis-server', 'jupyter-nbconvert', 'jupyter-notebook', 'fonts-noto-cjk'])
      assert.ok(!serve.includes(p), `make run installs ${p}`);
    assert.ok(train.includes('fonts-noto-cjk') && !train.includes('chromium'));
    // make bench renders a page (fonts), measures in a browser; make soak STORE=redis serves Redis.
    for (const p of ['chromium', 'redis-server', ...train]) assert.ok(bench.includes(p), `make bench lacks ${p}`);
    assert.ok(!bench.includes('jupyter-nbconvert'), 'make bench installs Jupyter');
    for (const p of ['jupyter-nbconvert', 'jupyter-notebook', ...bench]) assert.ok(test.includes(p), `make test lacks ${p}`);
    const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
    assert.match(makefile, /^BENCH_COMMANDS := bench soak$/m);
    assert.match(makefile, /^\$\(BENCH_COMMANDS\): setup-bench$/m);
    assert.match(makefile, /^setup-bench:\n\tbash scripts\/setup\.sh bench$/m);
    const r = bash('debian_packages_for everything');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown set-up purpose 'everything': serve, train, bench or test/);
  });

  it("waits for another apt's lock (and says so), shows a line per package, and fails with apt's exit code", () => {
    const bin = tempDir('k49-apt-');
    const calls = path.join(bin, 'calls');
    stub(bin, 'dpkg-query', 'exit 1');
    stub(bin, 'sudo', 'exec "$@"');
    stub(
      bin,
      'apt-get',
      `echo "$*" >> '${calls}'
case " $* " in *" install "*)
  echo "Reading package lists..."; echo "Get:1 http://deb.debian.org/debian bookworm/main amd64 redis-server 7.0 [1 kB]"
  echo "Unpacking redis-server (7.0) ..."; echo "Setting up redis-server (7.0) ..."; exit \${APT_EXIT:-0};;
esac`,
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const ok = bash('ensure_debian_packages redis-server', env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /\[apt\] installing 1 Debian packages: redis-server/);
    assert.match(ok.stderr, /waits up to 300 s for another apt's lock/);
    for (const line of ['Get:1 ', 'Unpacking redis-server', 'Setting up redis-server'])
      assert.ok(ok.stderr.includes(`[apt] ${line}`), `no progress line ${line} in:\n${ok.stderr}`);
    assert.ok(!ok.stderr.includes('Reading package lists'), 'only the lines that show progress');
    const args = readFileSync(calls, 'utf8').trim().split('\n');
    assert.equal(args.length, 2);
    for (const a of args) assert.match(a, /-o DPkg::Lock::Timeout=300/);
    assert.match(args[1]!, /install -y --no-install-recommends .*redis-server/);
    const failed = bash('ensure_debian_packages redis-server', { ...env, APT_EXIT: '100' });
    assert.equal(failed.status, 100);
    assert.match(failed.stderr, /apt-get install failed \(exit 100\)/);
  });
});
