/**
 * here(): the `file:line:column` of the line that calls it, as the stack
 * trace names it, for asserting the call sites of debug mode (D2).
 *
 * @module
 */

/** here returns the location of its caller (`depth` frames further out), named as `Error.stack` names it. */
export function here(depth = 0): string {
  const line = new Error().stack?.split('\n')[2 + depth] ?? '';
  const match = /\(?([^\s(]+:\d+:\d+)\)?$/.exec(line.trim());
  if (match?.[1] === undefined) throw new Error(`no location in stack line ${line}`);
  return match[1];
}

/** fileAndLine drops the column of a `file:line:column` site. */
export function fileAndLine(site: string | undefined): string | undefined {
  return site?.replace(/:\d+$/, '');
}

/**
 * marks returns `mark`, which returns its argument and records the location
 * of the line that calls it, so that `wg.add(mark(1))` records where that
 * add was called (the same line; another column).
 */
export function marks(): { <T>(value: T): T; readonly sites: string[] } {
  const sites: string[] = [];
  const mark = <T>(value: T): T => {
    sites.push(here(1));
    return value;
  };
  return Object.assign(mark, { sites });
}
