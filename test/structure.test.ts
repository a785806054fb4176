/**
 * The structure the README's "Layout" and "Where things go" promise: no
 * import circles, one module that works out paths, every command option
 * reachable from make, configs and settings checked with errors that name
 * the key, notebooks built from their type-checked sources.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import { buildProgram } from '../bin/cli';
import { loadSynthConfig } from '../pipeline/synth/config';
import { loadTrainConfig, readTrainConfig } from '../pipeline/train/config';
import { notebookFromSource } from '../scripts/build-notebooks';
import { loadConfig, ServiceEnv } from '../serve/config';
import { ROOT, tempDir } from './helpers/paths';

const SOURCE_DIRS = ['bin', 'pipeline', 'serve', 'bench', 'scripts', 'test', 'notebooks'];

async function circles(dir: string, roots: string[]): Promise<string[][]> {
  const graph = await madge(roots, {
    baseDir: dir,
    fileExtensions: ['ts'],
    tsConfig: path.join(ROOT, 'tsconfig.json'),
    detectiveOptions: { ts: { skipTypeImports: false, mixedImports: true } },
  });
  return graph.circular();
}

function trackedTs(): string[] {
  return spawnSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('project structure', () => {
  it('has no import circles (type-only imports and require() count too)', async function () {
    this.timeout(120000);
    assert.deepEqual(
      await circles(
        ROOT,
        SOURCE_DIRS.map((d) => path.join(ROOT, d)),
      ),
      [],
    );
    // The check itself finds a circle made of a type import and a require().
    const fixture = tempDir('k49-circle-');
    mkdirSync(path.join(fixture, 'm'));
    writeFileSync(path.join(fixture, 'm', 'a.ts'), "import type { B } from './b';\nexport type A = { b?: B };\n");
    writeFileSync(path.join(fixture, 'm', 'b.ts'), "export type B = number;\nexport const load = () => require('./a');\n");
    assert.deepEqual(await circles(fixture, [path.join(fixture, 'm')]), [['m/a.ts', 'm/b.ts']]);
  });

  it('keeps product code (bin, pipeline, serve, bench, scripts) free of imports from test/', () => {
    const product = trackedTs().filter((f) => /^(bin|pipeline|serve|bench|scripts)\//.test(f));
    const offenders = product.filter((f) =>
      [...readFileSync(path.join(ROOT, f), 'utf8').matchAll(/(?:from|import\(|require\()\s*'([^']+)'/g)].some(
        (m) => m[1]!.startsWith('.') && path.resolve(ROOT, path.dirname(f), m[1]!).startsWith(path.join(ROOT, 'test') + path.sep),
      ),
    );
    assert.ok(product.length > 50, `${product.length} product files found`);
    assert.deepEqual(offenders, []);
  });

  it('works out paths from the source tree in one module only (pipeline/core/paths.ts)', () => {
    const offenders = trackedTs().filter((f) => f !== 'pipeline/core/paths.ts' && /\b__dirname\b/.test(readFileSync(path.join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('gives every option of every command a variable, which make passes on', () => {
    const program = buildProgram();
    const missing = program.commands.flatMap((c) => c.options.filter((o) => !o.envVar).map((o) => `${c.name()} ${o.long}`));
    assert.deepEqual(missing, []);
    // A variable given to make reaches the command (here: MODEL= and DATA= of evaluate, both refused as missing).
    const r = spawnSync('make', ['-s', 'evaluate', 'MODEL=/nonexistent-model', 'DATA=/nonexistent-data'], { cwd: ROOT, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /No model artifact at \/nonexistent-model/);
  });

  it('refuses a training or synthesis config with a wrong type, value or unknown key, naming each', () => {
    const dir = tempDir('k49-config-');
    const bad = writeJson(dir, 'bad.json', { epochs: '6', model: { widths: [8, 16], depth: 3 }, augment: { eraseProb: 2 }, learnRate: 0.1 });
    assert.throws(
      () => loadTrainConfig(bad),
      (e: Error) => {
        for (const part of [
          /'epochs': expected number, received string \(given "6"\)/,
          /'model.widths'/,
          /in 'model': unknown key 'depth'/,
          /'augment.eraseProb': Too big/,
          /unknown key 'learnRate'/,
        ])
          assert.match(e.message, part);
        assert.ok(e.message.startsWith(`training config ${bad}: `), e.message);
        return true;
      },
    );
    const fine = loadTrainConfig(writeJson(dir, 'fine.json', { epochs: 2, model: { widths: [8, 16, 16] } }));
    assert.deepEqual([fine.epochs, fine.model.widths, fine.model.convsPerStage], [2, [8, 16, 16], [1, 1, 1]], 'a partial config is merged over the defaults');
    assert.throws(
      () => loadSynthConfig(writeJson(dir, 'synth.json', { render: { blurProb: 'often' }, fonts: [] })),
      /'render.blurProb': expected number, received string.*unknown key 'fonts'/,
    );
    assert.throws(() => loadTrainConfig(writeJson(dir, 'list.json', [1, 2])), /expected a JSON object of settings/);
    // From the command line: a clear one-line error and exit 1, before any data or TensorFlow is loaded.
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'k49.js'), 'train', '--config', bad, '--data', '/nonexistent'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error: training config .*'epochs': expected number/);
  });

  it('every committed config in configs/ is a valid training or synthesis config, and the bundled model was trained with its config', () => {
    const dir = path.join(ROOT, 'configs');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const full = path.join(dir, file);
      const asTrain = (() => {
        try {
          return loadTrainConfig(full);
        } catch {
          return null;
        }
      })();
      const asSynth = (() => {
        try {
          return loadSynthConfig(full);
        } catch {
          return null;
        }
      })();
      assert.ok(asTrain || asSynth, `${file} is neither a training nor a synthesis config`);
    }
    // The bundled model's recorded config (keys added since it was trained read as their neutral value) is configs/finetune-real.json merged over the defaults.
    assert.deepEqual(readTrainConfig(path.join(ROOT, 'artifacts', 'latest')), loadTrainConfig(path.join(dir, 'finetune-real.json')));
  });

  it("refuses service settings of the wrong type or range, naming the variable, and the README's table lists exactly the variables the service reads", () => {
    assert.throws(() => loadConfig({}, { PORT: 'http' }), /'PORT': expected a number \(given "http"\)/);
    assert.throws(() => loadConfig({}, { MAX_BATCH_SIZE: '0' }), /'MAX_BATCH_SIZE': Too small/);
    assert.throws(() => loadConfig({}, { LOG_LEVEL: 'loud' }), /'LOG_LEVEL'.*given "loud"/);
    assert.equal(loadConfig({}, { BATCH_WINDOW_MS: '' }).batchWindowMs, 2, 'an empty variable takes the default');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'k49.js'), 'serve'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, MODEL_POLL_MS: '5' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error: service settings \(environment\): 'MODEL_POLL_MS': Too small/);
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Performance'));
    const documented = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((v) => v[1]!));
    assert.deepEqual(documented.sort(), Object.keys(ServiceEnv.shape).sort());
  });

  it('builds the committed notebooks from their TypeScript sources', () => {
    const sources = readdirSync(path.join(ROOT, 'notebooks')).filter((f) => /^\d.*\.ts$/.test(f));
    assert.equal(sources.length, 3);
    for (const src of sources) {
      const name = src.replace(/\.ts$/, '.ipynb');
      const built = notebookFromSource(readFileSync(path.join(ROOT, 'notebooks', src), 'utf8'), src);
      const committed = JSON.parse(readFileSync(path.join(ROOT, 'notebooks', name), 'utf8')) as { cells: { cell_type: string; source: string[] }[] };
      assert.deepEqual(
        committed.cells.map((c) => [c.cell_type, c.source.join('')]),
        built.cells.map((c) => [c.cell_type, c.source.join('')]),
        `${name} differs from ${src}: run make notebooks`,
      );
    }
  });
});
