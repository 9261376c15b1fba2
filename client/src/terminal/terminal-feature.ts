// The lab page's terminals: one xterm.js view per host in the page's tabs, each on its own
// TerminalChannel of the page's one WebSocket (channel = host's position), with a visible state
// per tab; also installs the Run-button hook (type a block into a host's tab).
import { typedForm } from '../../../common/typed-form.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { setRunCommand } from '../run-command.ts';
import { tabText } from './channel-state-text.ts';
import type { ChannelState } from './terminal-channel.ts';
import { TerminalChannel } from './terminal-channel.ts';
import { TerminalView } from './terminal-view.ts';

interface Tab {
  view: TerminalView;
  channel: TerminalChannel;
}

export function attachTerminals(page: LabPageHandle): () => void {
  const { socket, terminals } = page;
  const tabs = new Map<string, Tab>();

  [...terminals.mounts].forEach(([host, mount], channel) => {
    const tabEl = terminals.root.querySelector<HTMLElement>(`.term-tab[data-host="${CSS.escape(host)}"]`);
    const dot = document.createElement('span');
    dot.className = 'term-dot';
    const label = document.createElement('span');
    label.className = 'term-state-text';
    tabEl?.prepend(dot);
    tabEl?.append(label);
    const showState = (state: ChannelState, message?: string): void => {
      if (!tabEl) return;
      const text = tabText(host, state, message);
      tabEl.dataset.state = text.state;
      label.textContent = text.label;
      tabEl.title = text.title;
    };
    // The view reports keys and sizes to the channel, and the channel writes into the view: the
    // view comes first, and what it reports while being built (its first fit) goes nowhere, as no
    // channel is open yet (it opens with the size it asks for then).
    const link: { channel?: TerminalChannel } = {};
    const view = new TerminalView(mount, {
      onInput: (data) => link.channel?.input(data),
      onResize: (cols, rows) => link.channel?.resize(cols, rows),
    });
    const ch = (link.channel = new TerminalChannel(
      socket,
      { channel, host },
      {
        write: (data, rendered) => view.write(data, rendered),
        size: () => {
          view.fit();
          return { cols: view.cols, rows: view.rows };
        },
        state: showState,
      },
    ));
    tabs.set(host, { view, channel: ch });
  });

  const offSelect = terminals.onSelect((host) => {
    const t = tabs.get(host);
    if (!t) return;
    // The pane was hidden (no size) until now.
    requestAnimationFrame(() => {
      t.view.fit();
      t.view.focus();
    });
  });

  setRunCommand((host, code) => {
    const t = tabs.get(host);
    if (!t || !socket.ready) return false;
    terminals.select(host);
    t.view.focus();
    t.view.type(typedForm(code));
    return true;
  });

  return () => {
    setRunCommand(() => false);
    offSelect();
    for (const t of tabs.values()) {
      t.channel.dispose();
      t.view.dispose();
    }
  };
}

export const terminalFeature: LabPageFeature = { name: 'terminals', attach: attachTerminals };
