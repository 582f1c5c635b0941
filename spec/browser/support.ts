/**
 * Shared set-up of the browser specs: the system's Chromium driven by
 * playwright-core (never a downloaded browser), the example's static server,
 * and `inPage`, which runs a function in a page with fixtures/kit.ts.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type RunningServer, startServer } from '../../examples/browser/server.js';

/** Where the system's Chromium is (Debian: apt-get install -y chromium). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, offline, sandbox-less headless Chromium. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The module a page function receives (spec/browser/fixtures/kit.ts). */
export type Kit = typeof import('./fixtures/kit.js');

/** Where the kit is served. */
const KIT_PATH = '/dist/spec/browser/fixtures/kit.js';

/** A browser and a server for one spec file; see {@link useBrowser}. */
export interface Session {
  /** The server the pages load from. */
  readonly server: RunningServer;
  /**
   * open loads `path` from the server in a new page (closed after the test);
   * `init` runs in the page before any of its scripts.
   */
  open(path: string, init?: () => void): Promise<Page>;
}

/**
 * useBrowser registers mocha hooks that start the example's server
 * (`isolated`: with COOP/COEP) and Chromium before the suite, close every page
 * after each test, and stop both after the suite. It fails, never skips, if
 * Chromium is missing.
 */
export function useBrowser(options: { readonly isolated: boolean }): Session {
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  const pages: Page[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM_PATH}: the browser tests need the system's Chromium ` +
          '(Debian/Ubuntu: apt-get install -y chromium; or set CHROMIUM_PATH). ' +
          'They never download a browser.',
      );
    }
    server = await startServer({ port: 0, isolated: options.isolated });
    profile = await mkdtemp(join(tmpdir(), 'awaitgroup-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1024, height: 720 },
    });
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  return {
    get server() {
      if (server === undefined) throw new Error('the session starts in before()');
      return server;
    },
    async open(path, init) {
      if (context === undefined || server === undefined) {
        throw new Error('the session starts in before()');
      }
      const page = await context.newPage();
      pages.push(page);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      if (init !== undefined) await page.addInitScript(init);
      const response = await page.goto(new URL(path, server.url).href);
      if (response?.status() !== 200) throw new Error(`GET ${path}: ${response?.status()}`);
      if (errors.length > 0) throw new Error(`${path}: ${errors.join('; ')}`);
      return page;
    },
  };
}

/**
 * inPage runs `fn` in `page` with the kit (fixtures/kit.ts: the package,
 * worker plumbing, error capture) and `arg`, and resolves with its result.
 * `arg` and the result must be plain data. `fn` is sent as source: it may use
 * only its parameters and the page's globals, nothing of the module it is
 * written in.
 */
export function inPage<R, A = undefined>(
  page: Page,
  fn: (kit: Kit, arg: A) => R | Promise<R>,
  arg?: A,
): Promise<R> {
  const kit = JSON.stringify(KIT_PATH);
  return page.evaluate<R>(
    `import(${kit}).then((kit) => (${fn.toString()})(kit, ${JSON.stringify(arg)}))`,
  );
}

/** pngSize returns the size a PNG declares in its IHDR chunk, or undefined if `bytes` are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((byte, i) => bytes[i] !== byte)) return undefined;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
