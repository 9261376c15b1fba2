// One host's terminal in the browser: an xterm.js instance fitted to its pane, with links,
// Ctrl-Shift-C/V copy and paste, and output acknowledged only once xterm has rendered it.
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import './terminal.css';

export interface TerminalViewEvents {
  /** Keys typed or text pasted (xterm already encoded it as the bytes a terminal sends). */
  onInput(data: string): void;
  onResize(cols: number, rows: number): void;
}

/** Matches the protocol's term-input limit; a bigger paste is sent in several messages. */
const MAX_INPUT_CHUNK = 16 * 1024;

export class TerminalView {
  readonly term: Terminal;
  readonly #fit = new FitAddon();
  readonly #observer: ResizeObserver;

  constructor(
    readonly mount: HTMLElement,
    events: TerminalViewEvents,
  ) {
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      // At 1.0 the row clips the underscore of DejaVu Sans Mono 14px (`proxy_pass` showed as `proxy pass`).
      lineHeight: 1.2,
      scrollback: 5000,
      // The same colours as --term-bg and --term-text in styles.css (the pane around the terminal).
      theme: { background: '#12161c', foreground: '#c9d1d9' },
    });
    this.term.loadAddon(this.#fit);
    this.term.loadAddon(new WebLinksAddon());
    this.term.attachCustomKeyEventHandler((ev) => this.#key(ev));
    const container = document.createElement('div');
    container.className = 'xterm-host';
    mount.replaceChildren(container);
    this.term.open(container);
    this.term.onData((d) => {
      for (let i = 0; i < d.length; i += MAX_INPUT_CHUNK) events.onInput(d.slice(i, i + MAX_INPUT_CHUNK));
    });
    // Mouse reports in some modes arrive as "binary" strings (one byte per char); they are still terminal input.
    this.term.onBinary((d) => events.onInput(d));
    this.term.onResize(({ cols, rows }) => events.onResize(cols, rows));
    // Hidden tabs have no size; they are fitted when shown (see fit()).
    this.#observer = new ResizeObserver(() => this.fit());
    this.#observer.observe(mount);
    this.fit();
  }

  get cols(): number {
    return this.term.cols;
  }
  get rows(): number {
    return this.term.rows;
  }

  /** Writes output; `rendered` runs once xterm has parsed it (the moment to acknowledge it). */
  write(data: Uint8Array, rendered: () => void): void {
    this.term.write(data, rendered);
  }

  /** Fits the terminal to its pane if the pane is visible. */
  fit(): void {
    if (this.mount.hidden || this.mount.clientWidth === 0 || this.mount.clientHeight === 0) return;
    this.#fit.fit();
  }

  focus(): void {
    this.term.focus();
  }

  /** Sends text as if typed on the keyboard (the same path as keys: onData). */
  type(text: string): void {
    this.term.input(text, true);
  }

  dispose(): void {
    this.#observer.disconnect();
    this.term.dispose();
  }

  /**
   * Ctrl-C must stay an interrupt, so copying uses Ctrl-Shift-C (as in GNOME Terminal);
   * Ctrl-Shift-V is left to the browser, whose paste event xterm turns into input.
   */
  #key(ev: KeyboardEvent): boolean {
    if (ev.type !== 'keydown' || !ev.ctrlKey || !ev.shiftKey) return true;
    const key = ev.key.toLowerCase();
    if (key === 'c') {
      if (this.term.hasSelection()) void navigator.clipboard?.writeText(this.term.getSelection()).catch(() => undefined);
      ev.preventDefault();
      return false;
    }
    if (key === 'v') return false;
    return true;
  }
}
