// Everything the server says to the session keeper (keeper/lw-term.c) on a lab host: attaching a
// terminal to the persistent shell, a read-only mirror, and (for skip step and `test --as-attendee`)
// looking at and typing into it. Nothing from the browser (not even the host name) is part of them.
import { KEEPER_BIN } from './keeper-binary.ts';

/** One shell per host per environment; every tab and every reconnect attaches to it. */
export const TERM_SESSION = 'labwright';

/** Session names the server may choose (the bench uses one per terminal); never from the browser. */
const SESSION_NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;

/** Raw output replayed to a terminal that attaches (its history across reloads and server restarts). */
export const HISTORY_BYTES = 256 * 1024;

function socketOf(session: string): string {
  if (!SESSION_NAME.test(session)) throw new Error(`not a safe terminal session name: ${JSON.stringify(session)}`);
  return `"$HOME/.labwright/term/${session}"`;
}

/**
 * Attaches to the host's session, starting it (a login shell) the first time; the keeper first
 * resets the terminal and replays the session's last HISTORY_BYTES of output.
 */
export function attachCommand(session: string = TERM_SESSION): string {
  return `exec ${KEEPER_BIN} attach ${socketOf(session)} -R ${HISTORY_BYTES}`;
}

/**
 * Starts the host's session without attaching, for `labwright test --as-attendee`, which types into
 * it without a browser. No-op if it runs.
 */
export function ensureDetachedCommand(cols: number, rows: number, session: string = TERM_SESSION): string {
  return `${KEEPER_BIN} new ${socketOf(session)} ${Math.trunc(cols)} ${Math.trunc(rows)}`;
}

/**
 * A view of the same session for a mirror, with its history. Read-only (-r): the keeper ignores what
 * it might send, as a second line of defence; the first is the server never forwarding input on a
 * read-only channel. `writable`: the attendee let the instructor take the keyboard (the help loop);
 * still without the size (-n), so the attendee's screen keeps its size. Never starts a session.
 */
export function mirrorCommand(writable = false): string {
  return `exec ${KEEPER_BIN} attach ${socketOf(TERM_SESSION)} ${writable ? '-n' : '-r'} -R ${HISTORY_BYTES}`;
}

/** Exits 0 when the host has the session (an attendee's page made one). */
export function hasSessionCommand(): string {
  return `${KEEPER_BIN} has ${socketOf(TERM_SESSION)}`;
}

/** printf's own escapes for the bytes: the command line stays printable, whatever is typed. */
function printfWord(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b >= 0x20 && b < 0x7f && c !== '\\' && c !== '%' && c !== "'" ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return `'${out}'`;
}

/** The bytes of a key named as tmux names them (`C-c`, `q`, `Enter`), which the callers speak. */
export function keyBytes(key: string): string {
  const ctrl = /^C-([a-z@[\\\]^_])$/.exec(key);
  if (ctrl?.[1]) return String.fromCharCode(ctrl[1].toUpperCase().charCodeAt(0) & 0x1f);
  if (key === 'Enter') return '\r';
  if (key === 'Escape') return '\x1b';
  if (key === 'Tab') return '\t';
  if ([...key].length === 1) return key;
  throw new Error(`unknown key name: ${JSON.stringify(key)}`);
}

/** Named keys typed into the session (`C-c`, `q`). */
export function sendKeysCommand(key: string): string {
  return `printf ${printfWord(keyBytes(key))} | ${KEEPER_BIN} send ${socketOf(TERM_SESSION)}`;
}

/** Text typed into the session as is. */
export function typeTextCommand(text: string): string {
  return `printf ${printfWord(text)} | ${KEEPER_BIN} send ${socketOf(TERM_SESSION)}`;
}

export interface PaneState {
  /** The session's shell holds the terminal (it is the terminal's foreground process group). */
  idle: boolean;
  /**
   * The names of the processes of the terminal's foreground process group: all of a pipeline
   * (`docker inspect web | less` is `docker` and `less`).
   */
  commands: string[];
  /** Changes whenever the terminal printed something (the keeper's count of output bytes). */
  screen: string;
  /** The foreground process group's id (tells "the same program still runs" from "another one started"). */
  group?: string;
}

/**
 * One line of shell: the keeper's shell pid, the terminal's foreground process group and its output
 * count, then whether the shell is in the foreground, the processes of that group and its id.
 * Its output is read by parsePaneState.
 */
export const PANE_STATE_COMMAND = [
  `set -- $(${KEEPER_BIN} info ${socketOf(TERM_SESSION)})`,
  'p=$1 fg=$2 n=$3',
  '[ -n "$n" ]',
  `c=$(pgrep -g "$fg" -l | cut -d ' ' -f 2 | paste -sd ,)`,
  'if [ "$fg" = "$p" ]; then s=idle; else s=busy; fi',
  'echo "$s $c $fg"',
  'echo "$n"',
].join(' && ');

export function parsePaneState(stdout: string): PaneState {
  const [first = '', second = ''] = stdout.trim().split('\n');
  const [s = '', cmds = '', group = ''] = first.split(' ');
  if (s !== 'idle' && s !== 'busy') throw new Error(`unexpected terminal state: ${JSON.stringify(stdout.slice(0, 200))}`);
  const state: PaneState = { idle: s === 'idle', commands: cmds.split(',').filter(Boolean), screen: second.trim() };
  if (/^\d+$/.test(group)) state.group = group;
  return state;
}
