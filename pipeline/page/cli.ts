/** `k49 read`: a page scan read with an artifact, printed as a summary, as text or as JSON, and optionally drawn. */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolveModelDir } from '../core/artifacts';
import { K49Classifier } from '../core/inference';
import { pagePicture } from './picture';
import { decodePage, pageAnswer, readPage } from './read';

export async function readPageFile(
  file: string,
  opts: { model?: string; json?: boolean; text?: boolean; picture?: string; maxCharacters: number },
): Promise<void> {
  const scan = readFileSync(file);
  const model = await K49Classifier.load(resolveModelDir(opts.model));
  const page = await decodePage(scan, { maxPixels: Number.MAX_SAFE_INTEGER });
  const result = await readPage(page, async (images) => model.probabilities(images), { maxCharacters: opts.maxCharacters });
  if (opts.picture) writeFileSync(opts.picture, await pagePicture(scan, result.characters, 900, /\.jpe?g$/i.test(opts.picture) ? 'jpeg' : 'png'));
  if (opts.json) {
    console.log(JSON.stringify({ ...pageAnswer(result), model_version: model.info.version }, null, 2));
    return;
  }
  if (opts.text) {
    console.log(result.text);
    return;
  }
  const hiragana = result.characters.filter((c) => c.kind === 'hiragana').length;
  console.log(
    `${file}: ${result.width} x ${result.height} px${result.skew ? `, ${Math.abs(result.skew)} degrees askew (read turned upright)` : ''}, ${result.columns.length} columns, ${result.characters.length} characters found, ${hiragana} read as hiragana (〓: not read as hiragana)`,
  );
  console.log(result.text);
  if (opts.picture) console.log(`boxes drawn in ${opts.picture}`);
}
