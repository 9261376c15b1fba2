// Lab regexes (`matches`, `stdout`, `body`) run in RE2 (re2js, pure JavaScript): matching time is
// linear in the text, so no regex over text an attendee controls can block the server's event loop.
import { RE2JS } from 're2js';
import type { Result } from './result.ts';
import { err, ok } from './result.ts';

/** A compiled lab regex; `test` is an unanchored search, like RegExp.prototype.test. */
export interface LinearRegex {
  readonly source: string;
  test(text: string): boolean;
}

export interface LinearRegexOptions {
  /** `^` and `$` match at line starts and ends (what JavaScript's `m` flag does). */
  multiline?: boolean;
  ignoreCase?: boolean;
}

/**
 * JavaScript ends a line at \r, \u2028 and \u2029 as well as \n (for `^`, `$` and `.`); RE2 only at
 * \n. Each of them becomes one \n in the text, so that `^1$` still matches a CRLF answer — unless
 * the pattern itself names \r or those separators.
 */
const OTHER_LINE_ENDS = /[\r\u2028\u2029]/g;
const NAMES_LINE_ENDS = /\\r|\\u2028|\\u2029|[\r\u2028\u2029]/;

/** What lint says RE2 accepts, so that an author knows what to change. */
export const LINEAR_REGEX_SYNTAX = 'RE2 syntax: no lookahead, lookbehind or backreferences';

/**
 * Compiles a lab regex, or says why it cannot run in linear time. JavaScript regex literals'
 * flags map to RE2's: `m` → MULTILINE, `i` → CASE_INSENSITIVE; inline `(?i)` works as well.
 */
export function compileLinearRegex(source: string, opts: LinearRegexOptions = {}): Result<LinearRegex, string> {
  const flags = (opts.multiline ? RE2JS.MULTILINE : 0) | (opts.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, flags);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return err(message.replace(/^error parsing regexp: /, ''));
  }
  const keep = NAMES_LINE_ENDS.test(source);
  return ok({ source, test: (text: string) => re.test(keep ? text : text.replace(OTHER_LINE_ENDS, '\n')) });
}

/** Compiles a regex that lint already accepted; throws only for a regex that skipped lint (a bug). */
export function linearRegex(source: string, opts: LinearRegexOptions = {}): LinearRegex {
  const r = compileLinearRegex(source, opts);
  if (!r.ok) throw new Error(`regex /${source}/ cannot run in the linear-time engine: ${r.error}`);
  return r.value;
}
