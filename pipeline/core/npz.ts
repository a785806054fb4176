/**
 * The official K49 container format: a NumPy `.npz` (a zip of `.npy` arrays,
 * deflate-compressed as `np.savez_compressed` writes them).
 * yauzl/yazl handle the zip container, npyjs the `.npy` arrays.
 *
 * Reading inflates each array straight into one buffer of its exact size and
 * lets npyjs view it without copying, so the full train set (182 MB raw)
 * peaks near 1x its raw size.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import { dump as dumpNpy, parse as parseNpyBuffer, type TypedArray } from 'npyjs';
import yauzl from 'yauzl';
import yazl from 'yazl';

export interface NdArray {
  /** NumPy dtype code without byte order, e.g. 'u1' for uint8. */
  dtype: string;
  shape: number[];
  data: ArrayBufferView;
}

/** A file that is not a readable .npz array container, with what is wrong. */
export class NpzFormatError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'NpzFormatError';
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) {
        reject(new NpzFormatError(file, `not a valid .npz (zip) file, it may be truncated or corrupt: ${err?.message}`));
      } else {
        resolve(zip);
      }
    });
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, file: string): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(new NpzFormatError(file, `cannot read ${entry.fileName}, the file may be truncated or corrupt: ${e.message}`));
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return fail(err ?? new Error('no stream'));
      const out = new ArrayBuffer(entry.uncompressedSize);
      const view = new Uint8Array(out);
      let offset = 0;
      stream.on('data', (chunk: Buffer) => {
        if (offset + chunk.length > view.length) {
          stream.destroy(new Error('entry is longer than its declared size'));
          return;
        }
        view.set(chunk, offset);
        offset += chunk.length;
      });
      stream.on('error', fail);
      stream.on('end', () => {
        if (offset !== view.length) fail(new Error(`expected ${view.length} bytes, got ${offset}`));
        else resolve(out);
      });
    });
  });
}

function parseNpy(buffer: ArrayBuffer, file: string, name: string): NdArray {
  let parsed: ReturnType<typeof parseNpyBuffer>;
  try {
    parsed = parseNpyBuffer(buffer);
  } catch (e) {
    throw new NpzFormatError(file, `${name} is not a valid .npy array: ${(e as Error).message}`);
  }
  if (parsed.fortranOrder) throw new NpzFormatError(file, `${name} is stored in Fortran order, which is not supported`);
  const expected = parsed.shape.reduce((a, b) => a * b, 1);
  const length = (parsed.data as unknown as { length: number }).length;
  if (length !== expected) {
    throw new NpzFormatError(file, `${name} declares shape (${parsed.shape.join(', ')}) = ${expected} values but holds ${length}`);
  }
  return { dtype: parsed.dtype, shape: parsed.shape, data: parsed.data };
}

/**
 * Reads the arrays of an .npz file. `only` limits which array names
 * (without `.npy`) are inflated; the others are skipped without reading.
 */
export async function readNpz(file: string, only?: string[]): Promise<Map<string, NdArray>> {
  await fs.access(file).catch(() => {
    throw new NpzFormatError(file, 'file not found');
  });
  const zip = await openZip(file);
  const arrays = new Map<string, NdArray>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(new NpzFormatError(file, `corrupt zip structure: ${e.message}`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName.replace(/\.npy$/, '');
        if (!entry.fileName.endsWith('.npy') || (only && !only.includes(name))) {
          zip.readEntry();
          return;
        }
        readEntry(zip, entry, file)
          .then((buffer) => {
            arrays.set(name, parseNpy(buffer, file, entry.fileName));
            zip.readEntry();
          })
          .catch(reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return arrays;
}

/** Reads one named array (NumPy names positional arrays arr_0, arr_1, ...). */
export async function readNpzArray(file: string, name = 'arr_0'): Promise<NdArray> {
  const arrays = await readNpz(file, [name]);
  const array = arrays.get(name);
  if (!array) throw new NpzFormatError(file, `has no array named '${name}'`);
  return array;
}

/**
 * Writes arrays as a compressed .npz, like `np.savez_compressed`. The file
 * appears atomically (written to a temporary name, then renamed).
 */
export async function writeNpz(file: string, arrays: Record<string, { data: TypedArray; shape: number[] }>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, array] of Object.entries(arrays)) {
    const bytes = dumpNpy(array.data as TypedArray, array.shape);
    zip.addBuffer(Buffer.from(bytes), `${name}.npy`, { compress: true, mtime: new Date(0) });
  }
  zip.end();
  const tmp = `${file}.tmp-${process.pid}`;
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(tmp);
    zip.outputStream.pipe(out).on('finish', resolve).on('error', reject);
  });
  await fs.rename(tmp, file);
}
