// Read-only mirrors of one attendee's terminals on the dashboard socket: one xterm per host,
// opened with mirrorOf (the server enforces read-only; the view also ignores keys), reopened
// after every reconnect, output acknowledged after render so flow control keeps working.
import { h } from '../dom.ts';
import { TerminalView } from '../terminal/terminal-view.ts';
import type { LabSocket } from '../ws-client.ts';

interface Mirror {
  host: string;
  channel: number;
  view: TerminalView;
  pane: HTMLElement;
  state: HTMLElement;
  /** Shown over the terminal while it is not connected, saying why. */
  note: HTMLElement;
}

/** Mirrors use channels from here up, far from any a lab page would use. */
let nextChannel = 512;

export class MirrorPanel {
  readonly root: HTMLElement;
  readonly #mirrors: Mirror[] = [];
  readonly #offs: (() => void)[] = [];

  constructor(
    private readonly socket: LabSocket,
    private readonly attendeeId: string,
    hosts: readonly string[],
    parent: HTMLElement,
  ) {
    const tabs = h('div', { class: 'mirror-tabs', role: 'tablist' });
    const panes = h('div', { class: 'mirror-panes' });
    this.root = h('div', { class: 'mirror-panel' }, tabs, panes);
    // xterm.js must open inside the document: on a detached element it never renders.
    parent.append(this.root);
    hosts.forEach((host, i) => {
      const state = h('span', { class: 'mirror-state' }, 'connecting…');
      const tab = h('button', { type: 'button', class: 'mirror-tab', role: 'tab', 'data-host': host }, host, ' ', state);
      const note = h('p', { class: 'mirror-note' }, `connecting to ${host}…`);
      const pane = h('div', { class: 'mirror-pane', 'data-host': host });
      pane.hidden = i !== 0;
      if (i === 0) tab.classList.add('active');
      tabs.append(tab);
      panes.append(pane);
      const view = new TerminalView(pane, { onInput: () => undefined, onResize: () => undefined });
      pane.append(note);
      // Read-only on screen as well as on the server: no cursor, no keys.
      view.term.options.disableStdin = true;
      view.term.options.cursorBlink = false;
      const m: Mirror = { host, channel: nextChannel++ % 1024, view, pane, state, note };
      this.#mirrors.push(m);
      tab.addEventListener('click', () => {
        for (const t of tabs.children) t.classList.toggle('active', t === tab);
        for (const p of this.#mirrors) p.pane.hidden = p !== m;
        m.view.fit();
      });
    });
    this.#offs.push(
      socket.on('welcome', () => this.#openAll()),
      socket.on('term-output', (msg) => {
        const m = this.#mirrors.find((x) => x.channel === msg.channel);
        m?.view.write(msg.data, () => this.socket.send({ type: 'term-ack', channel: msg.channel, bytes: msg.data.length }));
      }),
      socket.on('term-state', (msg) => {
        const m = this.#mirrors.find((x) => x.channel === msg.channel);
        if (!m) return;
        m.state.textContent = msg.state === 'connected' ? 'read-only' : msg.state;
        m.note.hidden = msg.state === 'connected';
        m.note.textContent = msg.state === 'unreachable' ? `${m.host} is unreachable${msg.message ? `: ${msg.message}` : ''}` : `${m.host}: ${msg.state}…`;
      }),
      socket.on('error', (msg) => {
        if (msg.ref !== 'term-open') return;
        for (const m of this.#mirrors) {
          if (m.state.textContent !== 'connecting…') continue;
          m.state.textContent = 'refused';
          m.note.textContent = msg.message;
        }
      }),
    );
    if (socket.ready) this.#openAll();
  }

  #openAll(): void {
    for (const m of this.#mirrors) {
      m.view.fit();
      this.socket.send({ type: 'term-open', channel: m.channel, host: m.host, cols: m.view.cols, rows: m.view.rows, mirrorOf: this.attendeeId });
    }
  }

  /** Fits the visible terminal once the panel is in the page. */
  fit(): void {
    for (const m of this.#mirrors) if (!m.pane.hidden) m.view.fit();
  }

  dispose(): void {
    for (const off of this.#offs) off();
    for (const m of this.#mirrors) {
      this.socket.send({ type: 'term-close', channel: m.channel });
      m.view.dispose();
    }
  }
}
