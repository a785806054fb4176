/**
 * Recognition in the page itself (its own bundle, /ui/in-browser.js, loaded
 * by app.ts): the served network's files (/model/browser.json) run with
 * TensorFlow.js, on WebGL where the browser renders float32 textures (exact
 * enough to equal the server), WebAssembly otherwise; the image goes through
 * the server's own preprocessing modules (pixels.ts, fit.ts) and the network
 * through the same folded layers as training's validation (folded.ts). Once
 * loaded it needs no network: the page answers offline.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import type { z } from 'zod';
import { compileSteps, runCompiled } from '../../pipeline/core/folded';
import { decodeFolded, type FoldedManifest } from '../../pipeline/core/folded-transport';
import { IMAGE_SIZE, toModelInput } from '../../pipeline/core/preprocess/fit';
import { BLANK_IMAGE_MESSAGE, isBlank, rgbaToK49 } from '../../pipeline/core/preprocess/pixels';
import type { BrowserModelResponse } from '../schemas';

export type Backend = 'webgl' | 'wasm';

interface InBrowserAnswer {
  /** The 28x28 image the network saw (784 bytes). */
  image: Uint8Array;
  probabilities: Float32Array;
}

export interface InBrowserModel {
  /** The served network's id (/model/browser.json): a new one after a hot reload on the server. */
  readonly id: string;
  readonly version: string;
  readonly backend: Backend;
  /** RGBA pixels -> the image the network saw and its 49 probabilities; throws the server's message for a blank image. */
  recognise(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): InBrowserAnswer;
  dispose(): void;
}

/** The WebGL renderer's name, when the browser tells it: software renderers emulate a GPU on the CPU. */
function webglRenderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return '';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
}
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software/i;

/**
 * WebGL on a GPU that computes in float32 (some phones render only float16,
 * too coarse to equal the server); otherwise WebAssembly, which on a CPU runs
 * this small network faster than WebGL emulated in software. `prefer` forces one.
 */
async function chooseBackend(prefer?: Backend): Promise<Backend> {
  const gpu = prefer !== 'wasm' && (prefer === 'webgl' || !SOFTWARE_RENDERER.test(webglRenderer()));
  if (gpu && (await tf.setBackend('webgl').catch(() => false)) && tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) return 'webgl';
  setWasmPaths('/ui/wasm/');
  if (await tf.setBackend('wasm').catch(() => false)) return 'wasm';
  throw new Error('this browser runs neither WebGL (float32) nor WebAssembly');
}

async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res;
}

/** Where the served network's files are: asked of the server each time (it tells the page of a hot reload). */
export async function currentModel(): Promise<{ id: string; version: string; manifest: string; weights: string }> {
  return (await (await fetchOk('/model/browser.json', { cache: 'no-cache' })).json()) as z.infer<typeof BrowserModelResponse>;
}

/** Loads the served network (its files cached by the browser for good, versioned by id) and warms it up; `prefer` forces a backend. */
export async function loadInBrowserModel(prefer?: Backend): Promise<InBrowserModel> {
  const where = await currentModel();
  const [manifest, weights] = await Promise.all([
    fetchOk(where.manifest).then((r) => r.json() as Promise<FoldedManifest>),
    fetchOk(where.weights).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  const backend = await chooseBackend(prefer);
  const owned: tf.Tensor[] = [];
  const steps = compileSteps(tf, decodeFolded(manifest, weights), owned);
  const run = (image: Uint8Array) => runCompiled(tf, steps, toModelInput(image), IMAGE_SIZE);
  run(new Uint8Array(IMAGE_SIZE * IMAGE_SIZE)); // the first call compiles the backend's programs
  return {
    id: where.id,
    version: where.version,
    backend,
    recognise(rgba, width, height) {
      const image = rgbaToK49(rgba as Uint8Array, width, height);
      if (isBlank(image)) throw new Error(BLANK_IMAGE_MESSAGE);
      return { image, probabilities: run(image) };
    },
    dispose: () => tf.dispose(owned),
  };
}
