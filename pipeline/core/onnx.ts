/**
 * The inference graph as an ONNX model, built in memory from a trained
 * tfjs-layers model's folded layers (folded.ts), for ONNX
 * Runtime (onnxruntime-node), which runs this small convolutional network at
 * batch 1 about three times faster than TensorFlow's eager ops
 * (docs/performance.md). Nothing is written to disk: the artifact stays the
 * tfjs-layers model that training writes.
 *
 * Only what the graph needs of the ONNX protobuf schema is written (onnx.proto
 * field numbers in the comments); tfjs's NHWC layout becomes ONNX's NCHW:
 * kernels are transposed, and the feature map is put back in NHWC order
 * before it is flattened, so the dense weights keep their order.
 */

import type { FoldedLayer } from './folded';

// ---- protobuf wire format: varints and length-delimited fields ----

class ProtoWriter {
  private chunks: Uint8Array[] = [];

  private varint(v: number): void {
    const bytes: number[] = [];
    let n = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      bytes.push(b);
    } while (n > 0n);
    this.chunks.push(Uint8Array.from(bytes));
  }

  private key(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(b.length);
    this.chunks.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// ---- ONNX messages ----

const FLOAT = 1; // TensorProto.DataType.FLOAT
type Attribute = { name: string; int?: number; ints?: number[]; string?: string };

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian floats). */
function tensor(name: string, dims: number[], values: Float32Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  t.int(2, FLOAT).string(8, name);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return t.bytes(9, raw);
}

/** AttributeProto: name = 1, i = 3, s = 4, ints = 8, type = 20 (INT 2, STRING 3, INTS 7). */
function attribute(a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  if (a.int !== undefined) return w.int(3, a.int).int(20, 2);
  if (a.string !== undefined) return w.string(4, a.string).int(20, 3);
  for (const v of a.ints ?? []) w.int(8, v);
  return w.int(20, 7);
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
function node(op: string, inputs: string[], output: string, attributes: Attribute[] = []): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  n.string(2, output).string(3, output).string(4, op);
  for (const a of attributes) n.message(5, attribute(a));
  return n;
}

/** ValueInfoProto (name = 1, type = 2) of a float tensor: TypeProto.tensor_type = 1 {elem_type = 1, shape = 2 {dim = 1 {dim_value = 1 | dim_param = 2}}}. */
function valueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** Graph input and output names. */
export const ONNX_INPUT = 'images';
export const ONNX_OUTPUT = 'probabilities';
/** The ONNX operator set the graph is written for. */
const OPSET = 13;

/** TensorFlow's 'same' padding (the extra pixel, if any, at the end) and 'valid' (none), as ONNX's auto_pad. */
const autoPad = (pad: 'same' | 'valid'): Attribute => ({ name: 'auto_pad', string: pad === 'same' ? 'SAME_UPPER' : 'VALID' });

/** tfjs conv kernel [kh, kw, cin, cout] as ONNX's [cout, cin, kh, kw]. */
function kernelToOihw(kernel: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < cin!; i++)
        for (let o = 0; o < cout!; o++) out[((o * cin! + i) * kh! + y) * kw! + x] = kernel[((y * kw! + x) * cin! + i) * cout! + o]!;
  return out;
}

/**
 * The ONNX model (serialized ModelProto) of a network of folded layers taking
 * [N, size, size, 1] images (as NCHW [N, 1, size, size], the same bytes) and
 * giving [N, classes] probabilities.
 */
export function buildOnnxModel(layers: FoldedLayer[], size: number, producer: string): Uint8Array {
  const graph = new ProtoWriter().string(2, 'k49'); // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12
  let x = ONNX_INPUT;
  let nchw = true;
  const nodes: ProtoWriter[] = [];
  layers.forEach((layer, i) => {
    const out = i === layers.length - 1 ? ONNX_OUTPUT : `l${i}_${layer.kind}`;
    const weight = (suffix: string, dims: number[], values: Float32Array) => {
      graph.message(5, tensor(`l${i}_${suffix}`, dims, values));
      return `l${i}_${suffix}`;
    };
    const activate = (y: string, activation: 'relu' | 'linear' | 'softmax') => {
      if (activation === 'linear') return y;
      nodes.push(node(activation === 'relu' ? 'Relu' : 'Softmax', [y], out, activation === 'softmax' ? [{ name: 'axis', int: 1 }] : []));
      return out;
    };
    const pre = `${out}_pre`;
    if (layer.kind === 'conv') {
      const [kh, kw, cin, cout] = layer.kernelShape;
      const w = weight('w', [cout!, cin!, kh!, kw!], kernelToOihw(layer.kernel, layer.kernelShape));
      const b = weight('b', [cout!], layer.bias);
      const y = layer.activation === 'linear' ? out : pre;
      nodes.push(node('Conv', [x, w, b], y, [{ name: 'kernel_shape', ints: [kh!, kw!] }, { name: 'strides', ints: layer.strides }, autoPad(layer.pad)]));
      x = activate(y, layer.activation);
    } else if (layer.kind === 'dense') {
      const w = weight('w', layer.kernelShape, layer.kernel);
      const b = weight('b', [layer.kernelShape[1]!], layer.bias);
      const y = layer.activation === 'linear' ? out : pre;
      nodes.push(node('Gemm', [x, w, b], y));
      x = activate(y, layer.activation);
    } else if (layer.kind === 'maxpool') {
      nodes.push(node('MaxPool', [x], out, [{ name: 'kernel_shape', ints: layer.pool }, { name: 'strides', ints: layer.strides }, autoPad(layer.pad)]));
      x = out;
    } else if (layer.kind === 'relu') {
      x = activate(x, 'relu');
    } else {
      // Flatten in tfjs's (NHWC) order, so the dense kernel that follows reads the features as it was trained to.
      if (nchw) {
        nodes.push(node('Transpose', [x], `${out}_nhwc`, [{ name: 'perm', ints: [0, 2, 3, 1] }]));
        x = `${out}_nhwc`;
        nchw = false;
      }
      nodes.push(node('Flatten', [x], out, [{ name: 'axis', int: 1 }]));
      x = out;
    }
  });
  if (x !== ONNX_OUTPUT) throw new Error('the network must end in a layer that gives its output');
  for (const n of nodes) graph.message(1, n);
  graph.message(11, valueInfo(ONNX_INPUT, ['N', 1, size, size]));
  graph.message(12, valueInfo(ONNX_OUTPUT, ['N', 'classes']));
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 {domain = 1, version = 2}
  return new ProtoWriter().int(1, 8).string(2, producer).message(7, graph).message(8, new ProtoWriter().string(1, '').int(2, OPSET)).finish();
}
