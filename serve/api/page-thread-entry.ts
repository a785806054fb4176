/** Runs inside the API's page-cutting thread (serve/api/page-thread.ts): decode, cut and crop each page it is sent. */
import { parentPort } from 'node:worker_threads';
import { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { cutCharacters, decodePage, PageReadError } from '../../pipeline/page/read';
import type { FromPageThread, ToPageThread } from './page-thread';

parentPort!.on('message', async (m: ToPageThread) => {
  let reply: FromPageThread;
  try {
    const page = await decodePage(Buffer.from(m.bytes), { maxPixels: m.maxPixels });
    reply = { id: m.id, cut: await cutCharacters(page, { maxCharacters: m.maxCharacters }) };
  } catch (e) {
    const error =
      e instanceof ImageDecodeError
        ? { type: 'decode' as const, kind: e.kind, message: e.message }
        : e instanceof PageReadError
          ? { type: 'page' as const, kind: e.kind, message: e.message }
          : { type: 'other' as const, message: (e as Error).message };
    reply = { id: m.id, error };
  }
  parentPort!.postMessage(reply, 'cut' in reply ? [reply.cut.images.buffer as ArrayBuffer] : []);
});
