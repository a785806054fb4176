/** POST /pages: a page scan in, its characters found and read, the hiragana in reading order out (pipeline/page/). */
import type Router from '@koa/router';
import sharp from 'sharp';
import { IMAGE_SIZE, PIXELS } from '../../../pipeline/core/dataset';
import { pageAnswer, readCharacters } from '../../../pipeline/page/read';
import { type PageResponse, PagesQuery } from '../../schemas';
import { parseOr400, requireFile, type Services } from './common';

export function pageRoutes(router: Router, s: Services): void {
  router.post('/pages', s.upload.single('file'), async (ctx) => {
    const started = performance.now();
    const query = parseOr400(PagesQuery, ctx.query, 'query');
    const file = requireFile(ctx.file as { buffer?: Buffer; size?: number } | undefined, 'file');
    // The whole page is cut and read with the model served when it started.
    const body: PageResponse = await s.models.use(async ({ classifier }) => {
      const model = (images: Uint8Array) => classifier.probabilities(images);
      // Decoding, cutting and cropping run on the page thread, so other requests go on meanwhile; the cutter's
      // questions about candidate pieces come back to this model.
      const cut = await s.pages.cut(file.buffer, { maxPixels: s.config.maxPixels, maxCharacters: s.config.maxPageCharacters }, model);
      const result = await readCharacters(cut, model);
      const answer = pageAnswer(result, file.buffer);
      if (query.include_images) {
        await Promise.all(
          answer.characters.map(async (ch, k) => {
            const png = await sharp(Buffer.from(result.images.subarray(k * PIXELS, (k + 1) * PIXELS)), {
              raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 },
            })
              .png()
              .toBuffer();
            (ch as PageResponse['characters'][number]).model_input_png = `data:image/png;base64,${png.toString('base64')}`;
          }),
        );
      }
      return { ...answer, model_version: classifier.info.version, time_ms: Number((performance.now() - started).toFixed(2)) };
    });
    ctx.body = body;
  });
}
