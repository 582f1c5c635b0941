/**
 * The few browser members the example uses, typed here because the project
 * compiles against Node's types and not `lib.dom` (adding `lib.dom` to the
 * one shared compilation would let Node code use `document` unchecked).
 * In a browser-only project, use `lib: ["DOM"]` and drop this file.
 *
 * @module
 */

/** The part of an HTML element the example touches. */
export interface Element {
  textContent: string | null;
  hidden: boolean;
  className: string;
  readonly dataset: Record<string, string | undefined>;
  readonly style: { setProperty(name: string, value: string): void };
  append(...nodes: (Element | string)[]): void;
  replaceChildren(...nodes: (Element | string)[]): void;
}

/** A dedicated Web Worker, as the page sees it. */
export interface Worker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: { readonly message: string }) => void): void;
  removeEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  removeEventListener(type: 'error', listener: (event: { readonly message: string }) => void): void;
}

/** The globals of a page (a window). */
export interface PageGlobals {
  readonly document: {
    readonly documentElement: Element;
    getElementById(id: string): Element | null;
    createElement(tag: string): Element;
  };
  readonly location: { readonly search: string };
  readonly crossOriginIsolated: boolean;
  readonly Worker: new (url: URL, options: { type: 'module'; name?: string }) => Worker;
  requestAnimationFrame(callback: (time: number) => void): number;
}

/** The globals of a dedicated worker. */
export interface WorkerGlobals {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

/** page is `globalThis` in a page. */
export const page = globalThis as unknown as PageGlobals;

/** workerScope is `globalThis` in a dedicated worker (`self`). */
export const workerScope = globalThis as unknown as WorkerGlobals;
