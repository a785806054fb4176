/** Locations shared by the tests: the project's own (pipeline/core/paths.ts), and temporary folders. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, REAL_SAMPLE_DIR, SHARED_DATA_DIR } from '../../pipeline/core/paths';

export const ROOT = PROJECT_ROOT;
export const SHARED_DATA = SHARED_DATA_DIR;
export const OFFICIAL_DIR = path.join(SHARED_DATA, 'k49');
export { REAL_SAMPLE_DIR };
/** Real training images of ten classes; its test split is a copy of real-sample images. */
export const KMNIST_REAL_DIR = path.join(SHARED_DATA, 'kmnist-real');

export function tempDir(prefix = 'k49-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
