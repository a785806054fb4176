/**
 * Runs inside the process's inference thread (serve/model/classifier.ts):
 * loads and warms models, answers each batch of images with their class
 * probabilities, and frees models when told. Buffers are transferred both
 * ways, never copied.
 */
import { parentPort } from 'node:worker_threads';
import { encodeFolded } from '../../pipeline/core/folded-transport';
import { K49Classifier } from '../../pipeline/core/inference';
import type { FromThread, ToThread } from './classifier';

const port = parentPort!;
const models = new Map<number, K49Classifier>();
let nextModel = 0;

async function handle(m: ToThread): Promise<void> {
  if (m.type === 'unload') {
    models.get(m.model)?.dispose();
    models.delete(m.model);
    return;
  }
  try {
    if (m.type === 'load') {
      const classifier = await K49Classifier.load(m.dir);
      await classifier.warmUp(m.warmUpBatchSizes);
      const model = nextModel++;
      models.set(model, classifier);
      port.postMessage({ type: 'loaded', id: m.id, model, info: classifier.info } satisfies FromThread);
      return;
    }
    const classifier = models.get(m.model);
    if (!classifier) throw new Error(`model ${m.model} is not loaded on the inference thread (disposed?)`);
    if (m.type === 'browser-files') {
      const { manifest, weights } = encodeFolded(classifier.folded);
      const buffer = weights.buffer as ArrayBuffer;
      port.postMessage({ type: 'browser-files', id: m.id, manifest, weights: buffer } satisfies FromThread, [buffer]);
      return;
    }
    // A copy of the native result: its memory belongs to ONNX Runtime and cannot be handed over.
    const probs = Float32Array.from(await classifier.probabilities(new Uint8Array(m.images)));
    port.postMessage({ type: 'probabilities', id: m.id, probs: probs.buffer } satisfies FromThread, [probs.buffer]);
  } catch (e) {
    port.postMessage({ type: 'error', id: m.id, error: (e as Error).message } satisfies FromThread);
  }
}

// Batches run while a new model loads (its file reads are asynchronous), so a hot reload does not hold up requests.
port.on('message', (m: ToThread) => void handle(m));
