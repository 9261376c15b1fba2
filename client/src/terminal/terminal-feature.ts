// The lab page's terminals: one xterm.js view per host in the page's tabs, each on its own
// TerminalChannel of the page's one WebSocket (channel = host's position), with a visible state
// per tab; also installs the Run-button hook (type a block into a host's tab).
import { typedForm } from '../../../common/typed-form.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { setRunCommand } from '../run-command.ts';
import { BusyPrompt, programsText } from './busy-prompt.ts';
import { tabText } from './channel-state-text.ts';
import type { ChannelState } from './terminal-channel.ts';
import { TerminalChannel } from './terminal-channel.ts';
import { TerminalView } from './terminal-view.ts';

interface Tab {
  view: TerminalView;
  channel: TerminalChannel;
  busy: BusyPrompt;
}

/**
 * A Run button's command goes to the host's shell. When a program holds the terminal instead, the
 * attendee is asked first: interrupt it and run, type into it anyway (a container shell the lab
 * means), or cancel. When the server cannot tell, the command is typed as before.
 */
async function runWhenFree(host: string, t: Tab, code: string): Promise<void> {
  const type = (): void => {
    t.view.focus();
    t.view.type(typedForm(code));
  };
  const now = await t.channel.ask('term-probe');
  if (now.state !== 'busy') {
    type();
    return;
  }
  const running = programsText(now.commands);
  let choice = await t.busy.ask(`${host}'s terminal is busy running ${running}: the command would be typed into ${running}, not into the shell.`);
  while (choice === 'interrupt') {
    t.busy.working(`Interrupting ${running} on ${host}…`);
    const after = await t.channel.ask('term-interrupt');
    if (after.state === 'idle') {
      t.busy.hide();
      type();
      return;
    }
    const still = after.state === 'busy' ? `${programsText(after.commands)} still runs` : (after.message ?? 'it could not be interrupted');
    choice = await t.busy.ask(`${host}'s terminal: ${still}. Leave it yourself (exit, q or Ctrl-C), then press Run again.`, after.state === 'busy');
  }
  t.busy.hide();
  if (choice === 'type') type();
  else t.view.focus();
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
    tabs.set(host, { view, channel: ch, busy: new BusyPrompt(mount, host) });
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
    void runWhenFree(host, t, code);
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
