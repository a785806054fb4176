/**
 * The inference network as folded layers (batch normalisation folded into
 * the convolution and dense weights before it: inference.ts foldLayers), and
 * what runs them anywhere TensorFlow.js does: `compileSteps` turns them into
 * fused ops (training's validation in Node, and the web page's recognition in
 * the browser), onnx.ts into the server's ONNX graph. Browser-safe: no Node
 * imports, so the page runs exactly these lines.
 */
import type * as TFCore from '@tensorflow/tfjs-core';

export type Activation = 'relu' | 'linear' | 'softmax';

/** One step of the inference network, batch normalisation folded in and weights read out (NHWC, tfjs's layouts). */
export type FoldedLayer =
  | {
      kind: 'conv';
      /** [kh, kw, cin, cout] */
      kernel: Float32Array;
      kernelShape: number[];
      bias: Float32Array;
      strides: [number, number];
      pad: 'same' | 'valid';
      activation: Activation;
    }
  | {
      kind: 'dense';
      /** [in, out] */
      kernel: Float32Array;
      kernelShape: number[];
      bias: Float32Array;
      activation: Activation;
    }
  | { kind: 'maxpool'; pool: [number, number]; strides: [number, number]; pad: 'same' | 'valid' }
  | { kind: 'relu' }
  | { kind: 'flatten' };

/** The ops of TensorFlow.js the steps use: tfjs-node's and the browser's tfjs-core both are one. */
export type TfOps = Pick<typeof TFCore, 'fused' | 'maxPool' | 'reshape' | 'relu' | 'softmax' | 'tensor' | 'tensor1d' | 'tensor4d' | 'tidy'>;
export type Step = (tf: TfOps, x: TFCore.Tensor) => TFCore.Tensor;

/** Folded layers as fused TensorFlow.js ops (conv + bias + ReLU as one op); the tensors it creates go to `owned` (to dispose). */
export function compileSteps(tf: TfOps, layers: FoldedLayer[], owned: TFCore.Tensor[] = []): Step[] {
  const keep = <T extends TFCore.Tensor>(t: T) => {
    owned.push(t);
    return t;
  };
  return layers.map((layer): Step => {
    if (layer.kind === 'conv' || layer.kind === 'dense') {
      const w = keep(tf.tensor(layer.kernel, layer.kernelShape));
      const bias = keep(tf.tensor1d(layer.bias));
      const activation = layer.activation === 'relu' ? 'relu' : 'linear';
      const softmax = layer.activation === 'softmax';
      if (layer.kind === 'conv') {
        return (t, x) => t.fused.conv2d({ x: x as TFCore.Tensor4D, filter: w as TFCore.Tensor4D, strides: layer.strides, pad: layer.pad, bias, activation });
      }
      return (t, x) => {
        const y = t.fused.matMul({ a: x as TFCore.Tensor2D, b: w as TFCore.Tensor2D, bias, activation });
        return softmax ? t.softmax(y) : y;
      };
    }
    if (layer.kind === 'maxpool') return (t, x) => t.maxPool(x as TFCore.Tensor4D, layer.pool, layer.strides, layer.pad);
    if (layer.kind === 'flatten') return (t, x) => t.reshape(x, [x.shape[0]!, -1]);
    return (t, x) => t.relu(x);
  });
}

/** Runs compiled steps on model input [N, size, size, 1] (already scaled): N x classes probabilities. */
export function runCompiled(tf: TfOps, steps: Step[], input: Float32Array, size: number): Float32Array {
  const n = input.length / (size * size);
  // The output tensor leaves tidy() and is read outside it: tidy() walks whatever it returns, element by element for a typed array.
  const out = tf.tidy(() => {
    let x: TFCore.Tensor = tf.tensor4d(input, [n, size, size, 1]);
    for (const step of steps) x = step(tf, x);
    return x;
  });
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}
