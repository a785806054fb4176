/** Debian's Chromium as the browser tests start it (never a downloaded browser), and where their screenshots go. */
import path from 'node:path';
import { ROOT } from './paths';

/** Headless, and quiet on the network: without the background-networking flags Chromium keeps calling hosts this machine cannot reach. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const TEST_OUTPUT = path.join(ROOT, 'test-output');
