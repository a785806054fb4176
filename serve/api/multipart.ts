/**
 * Multipart uploads (@koa/multer over busboy) with every limit enforced while
 * the body streams in: bytes per file, files per request, and total bytes per
 * request (a storage engine that counts as it buffers), so an oversized upload
 * is cut off early instead of being buffered whole. A request with a file
 * receiver (receiveFiles) hands each file over as soon as it has arrived,
 * in upload order, instead of keeping it for the route handler.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import multer from '@koa/multer';
import type { ServiceConfig } from '../config';

export class UploadTooLargeError extends Error {
  override name = 'UploadTooLargeError';
}

interface StoredFile {
  fieldname: string;
  originalname: string;
  buffer: Buffer;
  size: number;
}

export interface ReceivedFile {
  originalname: string;
  buffer: Buffer;
}
const receivers = new WeakMap<IncomingMessage, (file: ReceivedFile) => void>();

/** Each file of this request goes to `receiver` once it has fully arrived; the route's own file list then holds sizes only. */
export function receiveFiles(req: IncomingMessage, receiver: (file: ReceivedFile) => void): void {
  receivers.set(req, receiver);
}

/** Memory storage that fails the request once its files pass `maxRequestBytes` in total. */
function boundedMemoryStorage(maxRequestBytes: number) {
  const received = new WeakMap<IncomingMessage, number>();
  return {
    _handleFile(req: IncomingMessage, file: { stream: Readable; originalname: string }, cb: (error: Error | null, info?: Partial<StoredFile>) => void) {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      file.stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        const total = (received.get(req) ?? 0) + chunk.length;
        received.set(req, total);
        if (total > maxRequestBytes) {
          failed = true;
          file.stream.resume();
          cb(new UploadTooLargeError(`the request's files exceed ${maxRequestBytes} bytes in total`));
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      file.stream.on('error', (e: Error) => {
        if (!failed) cb(e);
        failed = true;
      });
      file.stream.on('end', () => {
        if (failed) return;
        const buffer = Buffer.concat(chunks, size);
        const receiver = receivers.get(req);
        if (!receiver) return cb(null, { buffer, size });
        receiver({ originalname: file.originalname, buffer });
        cb(null, { size });
      });
    },
    _removeFile(_req: IncomingMessage, file: Partial<StoredFile>, cb: (error: Error | null) => void) {
      delete file.buffer;
      cb(null);
    },
  };
}

export function makeUpload(config: ServiceConfig) {
  // multer 2 takes defParamCharset; its type definitions (@types/koa__multer) predate it.
  const options: multer.Options & { defParamCharset: string } = {
    storage: boundedMemoryStorage(config.maxRequestBytes) as unknown as multer.StorageEngine,
    // Browsers and curl send file names as raw UTF-8 (e.g. 名前.png); busboy's default would read them as Latin-1.
    defParamCharset: 'utf8',
    limits: {
      fileSize: config.maxFileBytes,
      files: config.maxBatchFiles,
      fields: 20,
      parts: config.maxBatchFiles + 20,
      fieldNameSize: 200,
      headerPairs: 200,
    },
  };
  return multer(options);
}
