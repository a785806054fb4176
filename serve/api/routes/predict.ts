/** POST /predict: one image in, top-k candidates out (through the dynamic batcher). */
import type Router from '@koa/router';
import sharp from 'sharp';
import type { z } from 'zod';
import { topK } from '../../../pipeline/core/classes';
import { IMAGE_SIZE } from '../../../pipeline/core/dataset';
import { PredictQuery, type PredictResponse } from '../../schemas';
import { modelInput, parseOr400, requireFile, type Services } from './common';

export function predictRoutes(router: Router, s: Services): void {
  router.post('/predict', s.upload.single('file'), async (ctx) => {
    const started = performance.now();
    const query = parseOr400(PredictQuery, ctx.query, 'query');
    const file = requireFile(ctx.file as { buffer?: Buffer; size?: number } | undefined, 'file');
    // The request runs on the model served when it started, even if a new one is swapped in meanwhile.
    const body = await s.models.use(async ({ classifier, extra: batcher }) => {
      const ticket = batcher.announce();
      let image: Uint8Array;
      try {
        image = await modelInput(s, file.buffer);
      } catch (e) {
        ticket.cancel();
        throw e;
      }
      const probs = await ticket.submit(image);
      const top = topK(probs, query.top_k);
      const answer: z.infer<typeof PredictResponse> = {
        prediction: top[0]!.prediction,
        class_id: top[0]!.class_id,
        confidence: top[0]!.confidence,
        top_k: top,
        model_version: classifier.info.version,
        time_ms: Number((performance.now() - started).toFixed(2)),
        prediction_id: top[0]!.class_id,
        character: top[0]!.prediction,
      };
      if (query.include_image) {
        const png = await sharp(Buffer.from(image), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
          .png()
          .toBuffer();
        answer.model_input_png = `data:image/png;base64,${png.toString('base64')}`;
      }
      return answer;
    });
    ctx.body = body;
  });
}
