/**
 * Runs inside the API's page-cutting thread (serve/api/page-thread.ts): decode, cut and crop each page it
 * is sent. The cutter asks the model about candidate pieces: those questions go to the API's thread, which
 * holds the served model, and their answers come back here.
 */
import { parentPort } from 'node:worker_threads';
import { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import type { Judge } from '../../pipeline/page/judged-cut';
import { cutCharacters, decodePage, PageReadError } from '../../pipeline/page/read';
import type { FromPageThread, ToPageThread } from './page-thread';

/** Questions to the model that wait for their answer, by number. */
const waiting = new Map<number, { resolve: (p: Float32Array) => void; reject: (e: Error) => void }>();
let asked = 0;

/** The served model, for the page `id`: its candidate pieces' images go to the API's thread, their probabilities come back. */
const judgeFor =
  (id: number): Judge =>
  (images) =>
    new Promise((resolve, reject) => {
      const question = asked++;
      waiting.set(question, { resolve, reject });
      const message: FromPageThread = { id, judge: { question, images } };
      parentPort!.postMessage(message, [images.buffer as ArrayBuffer]);
    });

parentPort!.on('message', async (m: ToPageThread) => {
  if (m.type === 'judged') {
    const call = waiting.get(m.question);
    waiting.delete(m.question);
    if ('probabilities' in m) call?.resolve(m.probabilities);
    else call?.reject(new Error(m.error));
    return;
  }
  let reply: FromPageThread;
  try {
    const page = await decodePage(Buffer.from(m.bytes), { maxPixels: m.maxPixels });
    reply = { id: m.id, cut: await cutCharacters(page, { maxCharacters: m.maxCharacters }, judgeFor(m.id)) };
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
