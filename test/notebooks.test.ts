/** `make notebooks`: every notebook executes headless without a cell error and draws its charts; `make lab` serves them with the TypeScript kernel. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from './helpers/paths';
import { freePort, waitFor } from './helpers/service';

describe('notebooks (tslab, executed headless)', function () {
  this.timeout(900000);

  it('execute without errors and leave charts in their outputs', () => {
    const out = tempDir('k49-nb-');
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'notebooks.sh')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, K49_NOTEBOOK_OUT: out } });
    assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-3000));
    const executed = readdirSync(out)
      .filter((f) => f.endsWith('.ipynb'))
      .sort();
    assert.deepEqual(executed, ['01-eda.ipynb', '02-train.ipynb', '03-evaluate.ipynb']);
    for (const f of executed) {
      const nb = JSON.parse(readFileSync(path.join(out, f), 'utf8')) as {
        cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[];
      };
      const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
      assert.ok(!outputs.some((o) => o.output_type === 'error'), `${f} has an error output`);
      assert.ok(
        outputs.some((o) => o.data && 'image/png' in o.data),
        `${f} has no chart`,
      );
      assert.ok(
        outputs.some((o) => o.data && 'text/html' in o.data),
        `${f} has no interactive chart`,
      );
      // Tables of classes: the class id is a column and rows are labelled by character, not by a number that reads like a class id.
      const tables = outputs.map((o) => (o as { text?: string[] }).text?.join('') ?? '').filter((t) => t.includes('║') && t.includes('class_id'));
      for (const table of tables) {
        const rowLabels = table
          .split('\n')
          .filter((l) => l.startsWith('║ '))
          .slice(1)
          .map((l) => l.split('│')[0]!.replace('║', '').trim());
        assert.ok(rowLabels.length > 0 && rowLabels.every((label) => /^[\u3040-\u309f]$/.test(label)), `${f}: rows labelled ${rowLabels.join(' ')}`);
      }
      if (f !== '02-train.ipynb') assert.ok(tables.length > 0, `${f} has a class table with a class_id column`);
    }
  });

  it('`make lab` starts Jupyter on localhost with the tslab kernel registered (its default), opening notebooks/, and prints the URL', async () => {
    const port = await freePort();
    const lab = spawn('make', ['-s', 'lab', `LAB_PORT=${port}`], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    lab.stdout!.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    lab.stderr!.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    try {
      const url = await waitFor(
        'the lab URL',
        async () => new RegExp(`open (http://127\\.0\\.0\\.1:${port}/\\?token=[0-9a-f]+)`).exec(printed)?.[1],
        120000,
        200,
      );
      const token = new URL(url).searchParams.get('token')!;
      const specs = await waitFor('Jupyter to answer', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`).catch(() => null);
        return r?.ok ? ((await r.json()) as { default: string; kernelspecs: Record<string, { spec: { language: string } }> }) : null;
      });
      assert.equal(specs.default, 'tslab');
      assert.equal(specs.kernelspecs.tslab?.spec.language, 'typescript');
      const listing = (await (await fetch(`http://127.0.0.1:${port}/api/contents?token=${token}`)).json()) as { content: { name: string }[] };
      for (const nb of ['01-eda.ipynb', '02-train.ipynb', '03-evaluate.ipynb'])
        assert.ok(
          listing.content.some((c) => c.name === nb),
          `${nb} in ${JSON.stringify(listing.content.map((c) => c.name))}`,
        );
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/kernelspecs`)).status, 403, 'without the token Jupyter refuses');
    } finally {
      process.kill(-lab.pid!, 'SIGTERM');
    }
  });
});
