/** Debian's Chromium as the browser tests start it (never a downloaded browser: bench/browser.ts), and where their screenshots go. */
import path from 'node:path';
import { ROOT } from './paths';

export { launchChromium, pageAnswer, strokeOnPad } from '../../bench/browser';
export const TEST_OUTPUT = path.join(ROOT, 'test-output');
