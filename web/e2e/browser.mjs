// The one browser of a test file: Debian's Chromium, headless, launched before the file's
// tests and closed after; screenshots go to e2e/artifacts/.
import { mkdirSync } from 'node:fs';
import { after, before } from 'node:test';

import { chromium } from 'playwright-core';

export const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

/** Registers the launch and the close; the returned function gives the running browser. */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => browser?.close());
  return () => browser;
}
