// Read-only mirrors of one attendee's terminals on the dashboard socket: one xterm per host, each
// on a TerminalChannel opened with mirrorOf (the server enforces read-only; the view also ignores
// keys), which reopens it after every reconnect and acknowledges output once rendered.
import { h } from '../dom.ts';
import { mirrorText } from '../terminal/channel-state-text.ts';
import { TerminalChannel } from '../terminal/terminal-channel.ts';
import type { ChannelSocket } from '../terminal/terminal-channel.ts';
import { TerminalView } from '../terminal/terminal-view.ts';

interface Mirror {
  view: TerminalView;
  channel: TerminalChannel;
  pane: HTMLElement;
}

/** Mirrors use channels from here up, far from any a lab page would use. */
let nextChannel = 512;

export class MirrorPanel {
  readonly root: HTMLElement;
  readonly #mirrors: Mirror[] = [];

  constructor(socket: ChannelSocket, attendeeId: string, hosts: readonly string[], parent: HTMLElement) {
    const tabs = h('div', { class: 'mirror-tabs', role: 'tablist' });
    const panes = h('div', { class: 'mirror-panes' });
    this.root = h('div', { class: 'mirror-panel' }, tabs, panes);
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
      // Read-only: nothing typed or resized here goes to the server.
      const view = new TerminalView(pane, { onInput: () => undefined, onResize: () => undefined });
      pane.append(note);
      // Read-only on screen as well as on the server: no cursor, no keys.
      view.term.options.disableStdin = true;
      view.term.options.cursorBlink = false;
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
            state.textContent = text.label;
            note.hidden = text.note === undefined;
            note.textContent = text.note ?? '';
          },
        },
      );
      const m: Mirror = { view, channel, pane };
      this.#mirrors.push(m);
      tab.addEventListener('click', () => {
        for (const t of tabs.children) t.classList.toggle('active', t === tab);
        for (const p of this.#mirrors) p.pane.hidden = p !== m;
        m.view.fit();
      });
    });
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
