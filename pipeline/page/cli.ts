/**
 * `k49 read`: page scans read with an artifact, printed as a summary, as text or as JSON, and optionally drawn.
 * Several pages (files, or folders of scans: a book) are read in turn with one loaded model; a page that cannot
 * be read is reported and the others are still read.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveModelDir } from '../core/artifacts';
import { K49Classifier } from '../core/inference';
import { pageScans } from './crops';
import { pagePicture } from './picture';
import { decodePage, pageAnswer, readPage } from './read';

interface ReadOptions {
  model?: string;
  json?: boolean;
  text?: boolean;
  picture?: string;
  maxCharacters: number;
}

/** The page scans named: each file as it is, each folder's scans in name order; `several` for more than one name or a folder (a book). */
async function pageFiles(names: string[]): Promise<{ files: string[]; several: boolean }> {
  const files: string[] = [];
  let folders = 0;
  for (const name of names) {
    if (!existsSync(name)) throw new Error(`${name} does not exist: name a page scan or a folder of them`);
    if (statSync(name).isDirectory()) {
      folders++;
      files.push(...(await pageScans(name)).map((f) => path.join(name, f)));
    } else files.push(name);
  }
  return { files, several: files.length > 1 || folders > 0 };
}

/** Where a page's picture goes: the file named, or for several pages (or a folder of them) `<folder>/<page name>.jpg`. */
function picturePath(picture: string, file: string, several: boolean): string {
  if (!several) return picture;
  mkdirSync(picture, { recursive: true });
  return path.join(picture, `${path.parse(file).name}.jpg`);
}

export async function readPageFiles(named: string[], opts: ReadOptions): Promise<void> {
  const { files, several } = await pageFiles(named);
  if (several && opts.picture && existsSync(opts.picture) && !statSync(opts.picture).isDirectory())
    throw new Error(`${opts.picture} is a file: with several pages, PICTURE= names a folder, which gets a picture per page`);
  const names = files.map((f) => path.parse(f).name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (several && opts.picture && twice)
    throw new Error(`two pages are named ${twice}: their pictures would overwrite each other in ${opts.picture}; rename one`);
  const model = await K49Classifier.load(resolveModelDir(opts.model));
  const answers: object[] = [];
  const failed: string[] = [];
  let printed = 0;
  for (const file of files) {
    try {
      const scan = readFileSync(file);
      const page = await decodePage(scan, { maxPixels: Number.MAX_SAFE_INTEGER });
      const result = await readPage(page, async (images) => model.probabilities(images), { maxCharacters: opts.maxCharacters });
      const picture = opts.picture && picturePath(opts.picture, file, several);
      if (picture) writeFileSync(picture, await pagePicture(scan, result.characters, 900, /\.jpe?g$/i.test(picture) ? 'jpeg' : 'png'));
      if (opts.json) {
        const answer = { ...pageAnswer(result, scan), model_version: model.info.version };
        answers.push(several ? { file, ...answer } : answer);
        continue;
      }
      // Pages apart by a blank line (a column is a line), as text.ts's bookText joins them.
      if (printed++ > 0) console.log('');
      if (opts.text) {
        console.log(result.text);
        continue;
      }
      const hiragana = result.characters.filter((c) => c.kind === 'hiragana').length;
      console.log(
        `${file}: ${result.width} x ${result.height} px${result.skew ? `, ${Math.abs(result.skew)} degrees askew (read turned upright)` : ''}, ${result.columns.length} columns, ${result.characters.length} characters found, ${hiragana} read as hiragana (〓: not read as hiragana)`,
      );
      console.log(result.text);
      if (picture) console.log(`boxes drawn in ${picture}`);
    } catch (e) {
      if (!several) throw e;
      // One page's fault does not lose the others: said now, and counted in the exit status at the end.
      console.error(`${file}: not read: ${(e as Error).message}`);
      failed.push(file);
    }
  }
  if (opts.json) console.log(JSON.stringify(several ? answers : answers[0], null, 2));
  if (failed.length > 0) throw new Error(`${failed.length} of ${files.length} pages could not be read (said above): ${failed.join(', ')}`);
}
