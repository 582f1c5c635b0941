import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

import type { ExampleResult } from '../../examples/browser/app.js';
import type { PageGlobals } from '../../examples/browser/dom.js';
import { BROWSERS, type Page, pngSize, useBrowser } from './support.js';

/** Screenshots go to test-output/ at the repository root (gitignored). */
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

/** finished waits for the example page to leave its running state and returns its result. */
async function finished(page: Page): Promise<ExampleResult> {
  await page.waitForFunction(
    () =>
      (globalThis as unknown as PageGlobals).document.documentElement.dataset.state !== 'running',
    { timeout: 30_000 },
  );
  const result = await page.evaluate(
    () => (globalThis as { exampleResult?: ExampleResult }).exampleResult,
  );
  if (result === undefined) throw new Error('the example left no exampleResult');
  return result;
}

/** text returns the text of the element `selector` finds in `page`. */
function text(page: Page, selector: string): Promise<string | null> {
  return page.$eval(selector, (element) => element.textContent);
}

/** visible reports whether the element `selector` finds in `page` is rendered (not `hidden`). */
function visible(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (element) => element.getClientRects().length > 0);
}

/** count returns how many elements `selector` finds in `page`. */
async function count(page: Page, selector: string): Promise<number> {
  return (await page.$$(selector)).length;
}

/** screenshot saves the whole page as test-output/`name` and returns the file's bytes. */
async function screenshot(page: Page, name: string): Promise<Buffer> {
  await mkdir(OUTPUT, { recursive: true });
  const path = `${OUTPUT}${name}`;
  await rm(path, { force: true });
  await page.screenshot({ path, fullPage: true });
  return readFile(path);
}
for (const browser of BROWSERS) {
  describe(`the browser example (examples/browser) in ${browser.name}`, () => {
    describe('served cross-origin isolated', () => {
      const session = useBrowser(browser, { isolated: true });

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
        const summary = await text(page, '#summary');
        expect(summary).to.match(
          /^All 4 workers done: 2,000 items in \d+ ms \(78,498 primes below 1,000,000\)$/,
        );
        expect(await visible(page, '#summary')).to.equal(true);
        expect(await visible(page, '#error')).to.equal(false);
        expect(await text(page, '#remaining')).to.equal('0');
        expect(await text(page, '#done')).to.equal('2,000');
        expect(await text(page, '#waiters')).to.equal('0');
        expect(await count(page, '#rows tr')).to.equal(4);
      });

      it(`saves a screenshot of the finished page to test-output/browser-example-${browser.name.toLowerCase()}.png`, async () => {
        const page = await session.open('/');
        await finished(page);
        const png = await screenshot(page, `browser-example-${browser.name.toLowerCase()}.png`);
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
      const session = useBrowser(browser, { isolated: false });

      it('shows ERR_WAITGROUP_NO_SHARED_MEMORY and what to do', async () => {
        const page = await session.open('/');
        const result = await finished(page);
        expect(result).to.include({ state: 'error', code: 'ERR_WAITGROUP_NO_SHARED_MEMORY' });
        expect(await visible(page, '#error')).to.equal(true);
        expect(await text(page, '#error-code')).to.equal('ERR_WAITGROUP_NO_SHARED_MEMORY');
        expect(await text(page, '#error-message')).to.include(
          'Cross-Origin-Embedder-Policy: require-corp',
        );
        const png = await screenshot(
          page,
          `browser-example-no-isolation-${browser.name.toLowerCase()}.png`,
        );
        expect(pngSize(png)?.width).to.equal(1024);
      });
    });
  });
}
