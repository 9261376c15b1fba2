// Read-only mirrors of one attendee's terminals on the dashboard socket: one xterm per host, each
// on a TerminalChannel opened with mirrorOf (the server enforces read-only; the view also ignores
// keys), which reopens it after every reconnect and acknowledges output once rendered.
import { h } from '../dom.ts';
import { mirrorText } from '../terminal/channel-state-text.ts';
import { TerminalChannel } from '../terminal/terminal-channel.ts';
import type { ChannelSocket, ChannelState } from '../terminal/terminal-channel.ts';
import { TerminalView } from '../terminal/terminal-view.ts';

interface Mirror {
  view: TerminalView;
  channel: TerminalChannel;
  pane: HTMLElement;
  /** The tab's state label, and what it was last told. */
  label: HTMLElement;
  state: { state: ChannelState; label: string };
}

/** Mirrors use channels from here up, far from any a lab page would use. */
let nextChannel = 512;

export class MirrorPanel {
  readonly root: HTMLElement;
  readonly #mirrors: Mirror[] = [];
  readonly #mode = h('span', { class: 'mirror-mode', role: 'status' }, 'Read-only');
  #keyboard = false;

  constructor(socket: ChannelSocket, attendeeId: string, hosts: readonly string[], parent: HTMLElement, private readonly attendeeName = 'the attendee') {
    const tabs = h('div', { class: 'mirror-tabs', role: 'tablist' });
    const panes = h('div', { class: 'mirror-panes' });
    // The mode sits in the tab bar: a row of its own would push the terminal out of a short window.
    this.root = h('div', { class: 'mirror-panel' }, h('div', { class: 'mirror-bar' }, tabs, this.#mode), panes);
    // xterm.js must open inside the document: on a detached element it never renders.
    parent.append(this.root);
    hosts.forEach((host, i) => {
      const state = h('span', { class: 'mirror-state' });
      const tab = h('button', { type: 'button', class: 'mirror-tab', role: 'tab', 'data-host': host }, host, ' ', state);
      const note = h('p', { class: 'mirror-note' });
      const pane = h('div', { class: 'mirror-pane', 'data-host': host });
      pane.hidden = i !== 0;
      if (i === 0) tab.classList.add('active');
      tabs.append(tab);
      panes.append(pane);
      // Read-only unless the attendee handed over the keyboard (the server checks that too);
      // a resize never goes to the server: the attendee's screen keeps its size.
      const view: TerminalView = new TerminalView(pane, { onInput: (data) => (this.#keyboard ? channel.input(data) : undefined), onResize: () => undefined });
      pane.append(note);
      // Read-only on screen as well as on the server: no cursor, no keys.
      view.term.options.disableStdin = true;
      view.term.options.cursorBlink = false;
      const last: Mirror['state'] = { state: 'connecting', label: '' };
      const channel = new TerminalChannel(
        socket,
        { channel: nextChannel++ % 1024, host, mirrorOf: attendeeId },
        {
          write: (data, rendered) => view.write(data, rendered),
          size: () => {
            view.fit();
            return { cols: view.cols, rows: view.rows };
          },
          state: (s, message) => {
            const text = mirrorText(host, s, message);
            last.state = s;
            last.label = text.label;
            state.textContent = this.#label(last);
            note.hidden = text.note === undefined;
            note.textContent = text.note ?? '';
          },
        },
      );
      const m: Mirror = { view, channel, pane, label: state, state: last };
      this.#mirrors.push(m);
      tab.addEventListener('click', () => {
        for (const t of tabs.children) t.classList.toggle('active', t === tab);
        for (const p of this.#mirrors) p.pane.hidden = p !== m;
        m.view.fit();
      });
    });
  }

  /** Take the keyboard: while on, keys typed here go to the attendee's terminal, and the panel says so loudly. */
  setKeyboard(on: boolean): void {
    if (on === this.#keyboard) return;
    this.#keyboard = on;
    this.root.classList.toggle('keyboard-on', on);
    this.#mode.textContent = on ? `Read-write: you are typing in ${this.attendeeName}’s terminal` : 'Read-only';
    for (const m of this.#mirrors) {
      m.label.textContent = this.#label(m.state);
      m.view.term.options.disableStdin = !on;
      m.view.term.options.cursorBlink = on;
    }
    if (on) this.#mirrors.find((m) => !m.pane.hidden)?.view.term.focus();
  }

  #label(s: Mirror['state']): string {
    return s.state === 'connected' && this.#keyboard ? 'read-write' : s.label;
  }

  /** Fits the visible terminal once the panel is in the page. */
  fit(): void {
    for (const m of this.#mirrors) if (!m.pane.hidden) m.view.fit();
  }

  dispose(): void {
    for (const m of this.#mirrors) {
      m.channel.dispose();
      m.view.dispose();
    }
  }
}
