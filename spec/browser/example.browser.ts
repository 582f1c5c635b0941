import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { ExampleResult } from '../../examples/browser/app.js';
import type { PageGlobals } from '../../examples/browser/dom.js';
import { pngSize, useBrowser } from './support.js';

/** Screenshots go to test-output/ at the repository root (gitignored). */
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

/** finished waits for the example page to leave its running state and returns its result. */
async function finished(page: Page): Promise<ExampleResult> {
  await page.waitForFunction(
    () =>
      (globalThis as unknown as PageGlobals).document.documentElement.dataset.state !== 'running',
    null,
    { timeout: 30_000 },
  );
  const result = await page.evaluate(
    () => (globalThis as { exampleResult?: ExampleResult }).exampleResult,
  );
  if (result === undefined) throw new Error('the example left no exampleResult');
  return result;
}

/** screenshot saves the whole page as test-output/`name` and returns the file's bytes. */
async function screenshot(page: Page, name: string): Promise<Buffer> {
  await mkdir(OUTPUT, { recursive: true });
  const path = `${OUTPUT}${name}`;
  await rm(path, { force: true });
  await page.screenshot({ path, fullPage: true });
  return readFile(path);
}

describe('the browser example (examples/browser)', () => {
  describe('served cross-origin isolated', () => {
    const session = useBrowser({ isolated: true });

    it('4 workers count the primes below 1,000,000 and the page shows it finished', async () => {
      const page = await session.open('/');
      const result = await finished(page);
      expect(result).to.include({
        state: 'done',
        workers: 4,
        items: 2000,
        primes: 78_498,
        below: 1_000_000,
      });
      const summary = await page.locator('#summary').textContent();
      expect(summary).to.match(
        /^All 4 workers done: 2,000 items in \d+ ms \(78,498 primes below 1,000,000\)$/,
      );
      expect(await page.locator('#summary').isVisible()).to.equal(true);
      expect(await page.locator('#error').isVisible()).to.equal(false);
      expect(await page.locator('#remaining').textContent()).to.equal('0');
      expect(await page.locator('#done').textContent()).to.equal('2,000');
      expect(await page.locator('#waiters').textContent()).to.equal('0');
      expect(await page.locator('#rows tr').count()).to.equal(4);
    });

    it('saves a screenshot of the finished page to test-output/browser-example.png', async () => {
      const page = await session.open('/');
      await finished(page);
      const png = await screenshot(page, 'browser-example.png');
      const size = pngSize(png);
      expect(size?.width).to.equal(1024);
      expect(size?.height).to.be.at.least(720);
      expect(png.length).to.be.above(10_000);
    });

    it('takes its size from the query: ?workers=2&items=10&span=10', async () => {
      const page = await session.open('/?workers=2&items=10&span=10');
      const result = await finished(page);
      expect(result).to.include({ state: 'done', workers: 2, items: 10, primes: 25, below: 100 });
    });
  });

  describe('served without COOP/COEP (--no-isolation)', () => {
    const session = useBrowser({ isolated: false });

    it('shows ERR_WAITGROUP_NO_SHARED_MEMORY and what to do', async () => {
      const page = await session.open('/');
      const result = await finished(page);
      expect(result).to.include({ state: 'error', code: 'ERR_WAITGROUP_NO_SHARED_MEMORY' });
      expect(await page.locator('#error').isVisible()).to.equal(true);
      expect(await page.locator('#error-code').textContent()).to.equal(
        'ERR_WAITGROUP_NO_SHARED_MEMORY',
      );
      expect(await page.locator('#error-message').textContent()).to.include(
        'Cross-Origin-Embedder-Policy: require-corp',
      );
      const png = await screenshot(page, 'browser-example-no-isolation.png');
      expect(pngSize(png)?.width).to.equal(1024);
    });
  });
});
