/** Locations shared by the tests. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SHARED_DATA = path.resolve(ROOT, '..', 'shared', 'data');
export const OFFICIAL_DIR = path.join(SHARED_DATA, 'k49');
export { REAL_SAMPLE_DIR } from '../../bench/harness';

export function tempDir(prefix = 'k49-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
