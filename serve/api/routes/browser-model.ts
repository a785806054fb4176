/**
 * The served network for the web page to run itself (serve/ui/in-browser.ts):
 * GET /model/browser.json says where the current files are; the files, under
 * the id of the network, never change and are cached by the browser for good,
 * so a hot reload (a new id) is seen by the page and an old page's files 404.
 */
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { z } from 'zod';
import type { ThreadedClassifier } from '../../model/classifier';
import type { BrowserModelResponse } from '../../schemas';
import { ApiError } from '../errors';
import { sendStatic } from '../static-body';
import type { Services } from './common';

interface BrowserFiles {
  id: string;
  manifest: Buffer;
  weights: Buffer;
  mantissaBits: number;
}
/** Per served model, its files once encoded; requests that come while they are encoded wait for the same ones. */
const filesOf = new WeakMap<ThreadedClassifier, Promise<BrowserFiles>>();

async function encodeFiles(classifier: ThreadedClassifier): Promise<BrowserFiles> {
  const network = await classifier.browserNetwork();
  const manifest = Buffer.from(JSON.stringify(network.manifest));
  const weights = Buffer.from(network.weights.buffer, network.weights.byteOffset, network.weights.byteLength);
  const id = createHash('sha256').update(manifest).update(weights).digest('hex').slice(0, 16);
  return { id, manifest, weights, mantissaBits: network.manifest.mantissaBits };
}

function browserFiles(classifier: ThreadedClassifier): Promise<BrowserFiles> {
  let files = filesOf.get(classifier);
  if (!files) {
    files = encodeFiles(classifier);
    filesOf.set(classifier, files);
    // A failed encoding is not kept: the next request tries again.
    files.catch(() => filesOf.delete(classifier));
  }
  return files;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function browserModelRoutes(router: Router, s: Services): void {
  router.get('/model/browser.json', async (ctx) => {
    const body = await s.models.use(async ({ classifier }): Promise<z.infer<typeof BrowserModelResponse>> => {
      const files = await browserFiles(classifier);
      return {
        id: files.id,
        version: classifier.info.version,
        manifest: `/model/${files.id}/manifest.json`,
        weights: `/model/${files.id}/weights.bin`,
        weights_bytes: files.weights.length,
        mantissa_bits: files.mantissaBits,
      };
    });
    // Asked again on every page load and model check: it is what tells the page of a hot reload.
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  });
  router.get('/model/:id/:file', async (ctx) => {
    const files = await s.models.use(({ classifier }) => browserFiles(classifier));
    if (ctx.params.id !== files.id) {
      throw new ApiError(
        404,
        `model files ${ctx.params.id} are not served any more (the server now serves ${files.id}): ask /model/browser.json where the current ones are`,
      );
    }
    if (ctx.params.file === 'manifest.json') sendStatic(ctx, files.manifest, 'application/json', IMMUTABLE);
    else if (ctx.params.file === 'weights.bin') sendStatic(ctx, files.weights, 'application/octet-stream', IMMUTABLE);
    else throw new ApiError(404, `no model file ${ctx.params.file}: there are manifest.json and weights.bin`);
  });
}
