import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSplit } from '../pipeline/core/dataset';
import { bookText } from '../pipeline/page/text';
import { scanFonts } from '../pipeline/synth/fonts';
import { renderPage } from '../pipeline/synth/pages';
import { ROOT, tempDir } from './helpers/paths';

function k49(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/k49.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe('k49 command line', () => {
  it('lists the same subcommands as the Makefile targets', () => {
    const help = k49(['--help']).stdout;
    for (const cmd of ['setup', 'run', 'serve', 'worker', 'test', 'data', 'synth', 'eda', 'train', 'evaluate', 'notebooks', 'bench']) {
      assert.match(help, new RegExp(`^  ${cmd}\\b`, 'm'), `missing subcommand ${cmd}`);
    }
  });

  it("`make help` (and plain `make`) lists every target from the command's own table; `--version` prints the package version", () => {
    const cliHelp = k49(['--help']).stdout;
    for (const args of [['-s', 'help'], ['-s']]) {
      const r = spawnSync('make', args, { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(cliHelp), `make ${args.join(' ')} prints the CLI help`);
      assert.match(r.stdout, /^ {2}train +DATA= CONFIG= OUT= RESUME= BASELINE=$/m, "the help lists each command's variables");
    }
    const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
    // Every target (setup-train is `k49 setup train`) and every command of the three set-up groups.
    const targets = [...makefile.matchAll(/^([a-z][a-z-]*):/gm)].map((m) => m[1]!.split('-')[0]!).filter((t) => t !== 'help');
    for (const group of ['SERVE_COMMANDS', 'TRAIN_COMMANDS', 'BENCH_COMMANDS'])
      targets.push(...new RegExp(`^${group} := (.+)$`, 'm').exec(makefile)![1]!.split(/\s+/));
    assert.ok(targets.length > 15, targets.join(' '));
    for (const t of targets) assert.match(cliHelp, new RegExp(`^  ${t}\\b`, 'm'), `make ${t} is in the help`);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(k49(['--version']).stdout.trim(), version);
  });

  it('`make data` offline: exits non-zero within 10 s saying what to download, from where, to where', () => {
    const dir = tempDir();
    const started = Date.now();
    const r = spawnSync('make', ['-s', 'data', `DATA=${dir}`], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, K49_BASE_URL: 'http://codh.invalid/kmnist/dataset/k49/' },
    });
    const seconds = (Date.now() - started) / 1000;
    assert.notEqual(r.status, 0);
    assert.ok(seconds < 10, `took ${seconds} s`);
    assert.match(r.stderr, /Cannot download the K49 files/);
    assert.match(r.stderr, /http:\/\/codh\.invalid\/kmnist\/dataset\/k49\/k49-train-imgs\.npz/);
    assert.ok(r.stderr.includes(`put them in ${dir}/`));
  });

  it('`k49 synth` writes K49-format files for all 49 classes', async () => {
    const dir = tempDir();
    const r = k49(['synth', '--data', dir, '--train-per-class', '2', '--test-per-class', '1']);
    assert.equal(r.status, 0, r.stderr);
    const train = await loadSplit(dir, 'train');
    assert.equal(new Set(train.labels).size, 49);
    assert.equal((await loadSplit(dir, 'test')).count, 49);
  });

  it("`k49 read page.png` (make read FILE=...) prints the page's text a column per line; --text the text alone, --json the API's answer, --picture the boxes drawn", function () {
    this.timeout(120000);
    const dir = tempDir('k49-read-');
    const file = path.join(dir, 'page.png');
    writeFileSync(
      file,
      renderPage(
        scanFonts(['debian']).available.filter((f) => f.split === 'test'),
        { seed: 'cli' },
      ).png,
    );
    const picture = path.join(dir, 'boxes.png');
    const summary = k49(['read', file, '--picture', picture]);
    assert.equal(summary.status, 0, summary.stderr);
    assert.match(summary.stdout, /page\.png: 1200 x 1700 px, 8 columns, \d+ characters found, \d+ read as hiragana/);
    assert.equal(readFileSync(picture).subarray(1, 4).toString(), 'PNG');
    const json = JSON.parse(k49(['read', file, '--json']).stdout) as { text: string; characters: unknown[]; model_version: string };
    assert.ok(json.characters.length > 100 && json.model_version);
    const text = k49(['read'], { FILE: file, TEXT: '1' }).stdout.trim();
    assert.equal(text, json.text);
    assert.equal(text.split('\n').length, 8);
    const missing = k49(['read']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /name the page to read: k49 read page\.jpg/);
  });

  it('`k49 read book/` reads a folder of pages in name order with one model: pages apart by a blank line, JSON a list, a picture per page; a page that cannot be read is named and the others are still read', function () {
    this.timeout(180000);
    const book = tempDir('k49-book-');
    const fonts = scanFonts(['debian']).available.filter((f) => f.split === 'test');
    const pages = ['p1', 'p2'].map((seed) => renderPage(fonts, { seed, columns: 3 }));
    // Named so that name order with numbers as numbers (page-2, page-10) is not the plain sort's.
    pages.forEach((p, k) => {
      writeFileSync(path.join(book, `page-${[2, 10][k]}.png`), p.png);
    });
    writeFileSync(path.join(book, 'notes.txt'), 'not a page: left out, as its name says');

    const json = JSON.parse(k49(['read', book, '--json']).stdout) as { file: string; text: string }[];
    assert.deepEqual(
      json.map((p) => path.basename(p.file)),
      ['page-2.png', 'page-10.png'],
    );
    const pictures = path.join(tempDir('k49-book-pictures-'), 'boxes');
    const text = k49(['read', '--text', '--picture', pictures], { FILE: book });
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout.trim(), bookText(json.map((p) => p.text)));
    assert.deepEqual(readdirSync(pictures).sort(), ['page-10.jpg', 'page-2.jpg']);

    // A file that is not an image among the pages: said by name, the other pages read, and the exit status says so.
    writeFileSync(path.join(book, 'page-3.png'), 'not an image');
    const partly = k49(['read', book]);
    assert.equal(partly.status, 1);
    assert.equal(partly.stdout.match(/^.*page-\d+\.png: \d+ x \d+ px/gm)?.length, 2);
    assert.match(partly.stderr, /page-3\.png: not read: not a raster image/);
    assert.match(partly.stderr, /1 of 3 pages could not be read \(said above\): .*page-3\.png/);
  });
});
