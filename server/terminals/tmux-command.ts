// Everything the server says to tmux on a lab host: attaching a terminal to the persistent session,
// a read-only mirror, and (for skip step and `test --as-attendee`) looking at and typing into its pane.
// Nothing from the browser (not even the host name) is ever part of them; lab text is quoted.
import { shq } from '../ssh/shell-quote.ts';

/** One shell per host per environment; every tab and every reconnect attaches to it. */
export const TMUX_SESSION = 'labwright';

/**
 * Written on the host before the first attach (tmux reads -f only when its server starts).
 * - status off: the tab header already says which host this is; a status line would steal a row.
 * - escape-time 0: otherwise Esc in vim waits half a second inside tmux.
 * - smcup@/rmcup@: tmux then draws into xterm.js's normal buffer, so output that scrolls off
 *   lands in the browser's own scrollback (wheel and selection keep working without tmux's
 *   copy mode, and mouse stays off so xterm's select-to-copy is untouched).
 * - window-size latest: a reattached page of a different size takes over the size, and a
 *   read-only mirror (ignore-size) never shrinks the attendee's screen.
 */
const TMUX_CONF = [
  'set -g status off',
  'set -g escape-time 0',
  'set -g history-limit 20000',
  'set -g mouse off',
  'set -g window-size latest',
  'set -g aggressive-resize on',
  "set -ga terminal-overrides ',xterm*:smcup@:rmcup@'",
];

const CONF_PATH = '"$HOME/.labwright-tmux.conf"';

/** Session names the server may choose (the bench uses one per terminal); never from the browser. */
const SESSION_NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;

const writeConf = (): string => `printf '%s\\n' ${TMUX_CONF.map(shq).join(' ')} > ${CONF_PATH}`;

function checkedSession(session: string): string {
  if (!SESSION_NAME.test(session)) throw new Error(`not a safe tmux session name: ${JSON.stringify(session)}`);
  return session;
}

/** Scrollback replayed on (re)attach: at most this many lines above the screen… */
export const HISTORY_LINES = 2000;
/** …and at most this many bytes of them (escapes included), so a reload stays cheap. */
export const HISTORY_BYTES = 256 * 1024;

/**
 * Printed before tmux attaches, in the same channel, so it reaches xterm.js first: a full reset
 * (RIS, so a page that re-attaches without reloading does not show its old scrollback twice), the
 * pane's history above the screen with its colours (-e) and wrapped lines joined (-J, xterm wraps
 * them again at its own width), then `rows` newlines that push all of it into xterm's scrollback:
 * tmux then redraws the screen below it. The byte cap cuts from the top; the line it cut into
 * (or the empty first line, when it cut nothing) is dropped, never half an escape sequence.
 * A session that does not exist yet has no history (display fails, n is empty).
 */
export function historyReplay(session: string, rows: number): string {
  const pane = shq(`=${checkedSession(session)}:`);
  const pad = '\\n'.repeat(Math.max(1, Math.min(500, Math.trunc(rows))));
  const steps = [
    "printf '\\033c'",
    `n=$(tmux display -p -t ${pane} '#{history_size}' 2>/dev/null)`,
    `if [ "\${n:-0}" -gt 0 ] 2>/dev/null; then { echo; tmux capture-pane -p -e -J -S -${HISTORY_LINES} -E -1 -t ${pane}; } | tail -c ${HISTORY_BYTES} | sed 1d; printf '\\033[0m${pad}'; fi`,
  ];
  // Keys typed while this runs stay in the terminal for tmux: nothing here may read them.
  return `{ ${steps.join('; ')}; } </dev/null`;
}

/**
 * Attaches to the host's session, creating it (with a login shell) the first time, after
 * replaying its scrollback (see historyReplay) for a terminal of `rows` rows.
 */
export function attachCommand(rows: number, session: string = TMUX_SESSION): string {
  return `${writeConf()}; ${historyReplay(session, rows)}; exec tmux -u -f ${CONF_PATH} new-session -A -s ${checkedSession(session)}`;
}

/**
 * Creates the host's session without attaching (as the first attach would, same settings), for
 * `labwright test --as-attendee`, which types into it without a browser. No-op if it exists.
 */
export function ensureDetachedCommand(cols: number, rows: number, session: string = TMUX_SESSION): string {
  const name = checkedSession(session);
  const size = `-x ${Math.trunc(cols)} -y ${Math.trunc(rows)}`;
  return `${writeConf()}; tmux has-session -t =${name} 2>/dev/null || tmux -u -f ${CONF_PATH} new-session -d -s ${name} ${size}`;
}

/**
 * A read-only view of the same session for a mirror, with its scrollback. tmux refuses its keys itself as a
 * second line of defence; the first is the server never forwarding input on a read-only channel.
 * `=` makes tmux match the session name exactly, not as a prefix. `writable`: the attendee let
 * the instructor take the keyboard (the help loop); still ignore-size, so their screen keeps its size.
 */
export function mirrorCommand(rows: number, writable = false): string {
  return `${historyReplay(TMUX_SESSION, rows)}; exec tmux -u attach-session -f ${writable ? '' : 'read-only,'}ignore-size -t =${TMUX_SESSION}`;
}

/** The session's pane, matched by exact name (`=`), for the commands that look into it from outside. */
const PANE = `-t ${shq(`=${TMUX_SESSION}:`)}`;

/** Exits 0 when the host has the session (an attendee's page made one). */
export function hasSessionCommand(): string {
  return `tmux has-session -t ${shq(`=${TMUX_SESSION}`)}`;
}

/** Named keys into the pane, as tmux spells them (`C-c`, `q`). */
export function sendKeysCommand(key: string): string {
  return `tmux send-keys ${PANE} ${shq(key)}`;
}

/** Text typed into the pane as is. */
export function typeTextCommand(text: string): string {
  return `tmux send-keys ${PANE} -l -- ${shq(text)}`;
}

export interface PaneState {
  /** The pane's shell holds the terminal (it is the terminal's foreground process group). */
  idle: boolean;
  /**
   * The names of the processes of the terminal's foreground process group: all of a pipeline
   * (`docker inspect web | less` is `docker` and `less`; tmux itself would name only the first).
   */
  commands: string[];
  /** A checksum of the visible screen. */
  screen: string;
  /** The foreground process group's id (tells "the same program still runs" from "another one started"). */
  group?: string;
}

/**
 * One line of shell: the pane's shell pid, whether it is the foreground process group of its
 * terminal (field 8 of /proc/PID/stat, tpgid), the processes of that group and its id, and a screen checksum.
 * Its output is read by parsePaneState.
 */
export const PANE_STATE_COMMAND = [
  `p=$(tmux display -p ${PANE} '#{pane_pid}')`,
  'read -r _ _ _ _ _ _ _ fg _ < "/proc/$p/stat"',
  `c=$(pgrep -g "$fg" -l | cut -d ' ' -f 2 | paste -sd ,)`,
  'if [ "$fg" = "$p" ]; then s=idle; else s=busy; fi',
  'echo "$s $c $fg"',
  `tmux capture-pane -p ${PANE} | cksum`,
].join(' && ');

export function parsePaneState(stdout: string): PaneState {
  const [first = '', second = ''] = stdout.trim().split('\n');
  const [s = '', cmds = '', group = ''] = first.split(' ');
  if (s !== 'idle' && s !== 'busy') throw new Error(`unexpected terminal state: ${JSON.stringify(stdout.slice(0, 200))}`);
  const state: PaneState = { idle: s === 'idle', commands: cmds.split(',').filter(Boolean), screen: second.trim() };
  if (/^\d+$/.test(group)) state.group = group;
  return state;
}
