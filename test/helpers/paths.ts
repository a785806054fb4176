/** Locations shared by the tests: the project's own (pipeline/core/paths.ts), and temporary folders. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KMNIST_REAL_DIR, PROJECT_ROOT, REAL_SAMPLE_DIR, SHARED_DATA_DIR } from '../../pipeline/core/paths';

export const ROOT = PROJECT_ROOT;
const SHARED_DATA = SHARED_DATA_DIR;
export const OFFICIAL_DIR = path.join(SHARED_DATA, 'k49');
/** Real manuscript page scans of CODH book 200010454, one of K49's sources (no labels). */
export const REAL_PAGES_DIR = path.join(SHARED_DATA, 'pages-200010454');
export { KMNIST_REAL_DIR, REAL_SAMPLE_DIR };

export function tempDir(prefix = 'k49-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
