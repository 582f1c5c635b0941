/**
 * Shared set-up of the browser specs: the system's Chromium and Firefox ESR,
 * both driven by puppeteer-core (never a downloaded browser; Firefox over
 * WebDriver BiDi), the example's static server, and `inPage`, which runs a
 * function in a page with fixtures/kit.ts.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { type RunningServer, startServer } from '../../examples/browser/server.js';

export type { Page };

/** The viewport of every page, and so the width of every screenshot. */
export const VIEWPORT = { width: 1024, height: 720 } as const;

/** Flags for a quiet, offline, sandbox-less headless Chromium. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Preferences of a quiet, offline Firefox, on top of puppeteer's own: no
 * updates, telemetry, experiments, captive-portal or connectivity checks, and
 * overlay scrollbars, so that a screenshot has the page's width.
 */
export const FIREFOX_PREFS: Readonly<Record<string, string | number | boolean>> = {
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'browser.discovery.enabled': false,
  'browser.ping-centre.telemetry': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'extensions.update.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.predictor.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.unified': false,
  'ui.useOverlayScrollbars': 1,
};

/** One browser the suite runs in. */
export interface BrowserKind {
  /** The name the spec titles use. */
  readonly name: 'Chromium' | 'Firefox';
  /** Where the system's binary is. */
  readonly executablePath: string;
  /** How to get the binary when it is missing. */
  readonly install: string;
  /** What the driver's version string and the page's user agent say: the product and its major. */
  readonly product: RegExp;
  /** launch starts the browser with a fresh profile in `profile`. */
  launch(profile: string): Promise<Browser>;
}

const chromium: BrowserKind = {
  name: 'Chromium',
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  install: 'Debian/Ubuntu: apt-get install -y chromium; or set CHROMIUM_PATH',
  product: /Chrome\/(\d+)\./,
  launch(profile) {
    return puppeteer.launch({
      browser: 'chrome',
      executablePath: this.executablePath,
      headless: true,
      userDataDir: profile,
      args: [...CHROMIUM_ARGS],
      defaultViewport: VIEWPORT,
    });
  },
};

const firefox: BrowserKind = {
  name: 'Firefox',
  executablePath: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
  install: 'Debian: apt-get install -y firefox-esr; or set FIREFOX_PATH',
  product: /firefox\/(\d+)\./i,
  launch(profile) {
    return puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: this.executablePath,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...FIREFOX_PREFS },
      defaultViewport: VIEWPORT,
    });
  },
};

/**
 * The browsers every browser spec runs in: both, unless AWAITGROUP_BROWSERS
 * names some (`chromium`, `firefox`, comma-separated) for a quicker local run.
 */
export const BROWSERS: readonly BrowserKind[] = selectBrowsers(process.env.AWAITGROUP_BROWSERS);

function selectBrowsers(names: string | undefined): BrowserKind[] {
  const all = [chromium, firefox];
  if (names === undefined || names.trim() === '') return all;
  return names.split(',').map((name) => {
    const found = all.find((browser) => browser.name.toLowerCase() === name.trim().toLowerCase());
    if (found === undefined) {
      throw new Error(`AWAITGROUP_BROWSERS: unknown browser '${name}'; use chromium, firefox`);
    }
    return found;
  });
}

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
 * (`isolated`: with COOP/COEP) and `browser` with a fresh profile before the
 * suite, close every page after each test, and stop both after the suite.
 * It fails, never skips, if the browser is missing.
 */
export function useBrowser(browser: BrowserKind, options: { readonly isolated: boolean }): Session {
  let server: RunningServer | undefined;
  let running: Browser | undefined;
  let profile: string | undefined;
  const pages: Page[] = [];

  before(async () => {
    if (!existsSync(browser.executablePath)) {
      throw new Error(
        `${browser.name} not found at ${browser.executablePath}: the browser tests need the ` +
          `system's ${browser.name} (${browser.install}). They never download a browser.`,
      );
    }
    server = await startServer({ port: 0, isolated: options.isolated });
    profile = await mkdtemp(join(tmpdir(), `awaitgroup-${browser.name.toLowerCase()}-`));
    running = await browser.launch(profile);
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });

  after(async () => {
    await running?.close();
    await server?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  return {
    get server() {
      if (server === undefined) throw new Error('the session starts in before()');
      return server;
    },
    async open(path, init) {
      if (running === undefined || server === undefined) {
        throw new Error('the session starts in before()');
      }
      const page = await running.newPage();
      pages.push(page);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String((error as Error).message ?? error)));
      if (init !== undefined) await page.evaluateOnNewDocument(init);
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
  return page.evaluate(
    `import(${kit}).then((kit) => (${fn.toString()})(kit, ${JSON.stringify(arg)}))`,
  ) as Promise<R>;
}

/** pngSize returns the size a PNG declares in its IHDR chunk, or undefined if `bytes` are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((byte, i) => bytes[i] !== byte)) return undefined;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
