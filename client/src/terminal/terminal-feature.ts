// The lab page's terminals: one xterm.js view per host in the page's tabs, multiplexed over the
// page's one WebSocket (channel = host's position), reopened after every reconnect, with a
// visible state per tab; also installs the Run-button hook (type a block into a host's tab).
import type { TermState } from '../../../common/protocol.ts';
import { typedForm } from '../../../common/typed-form.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { setRunCommand } from '../run-command.ts';
import { TerminalView } from './terminal-view.ts';

type TabState = TermState | 'offline';

const STATE_TEXT: Record<TabState, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  unreachable: 'host unreachable',
  closed: 'closed',
  offline: 'reconnecting…',
};

/**
 * Acknowledgements are coalesced: one message per this many rendered characters (or at the
 * end of a burst), which is far below the server's low-water mark so it never stalls waiting.
 */
const ACK_EVERY = 16 * 1024;

interface Tab {
  host: string;
  channel: number;
  view: TerminalView;
  tab: HTMLElement | null;
  label: HTMLElement;
  unacked: number;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
}

export function attachTerminals(page: LabPageHandle): () => void {
  const { socket, terminals } = page;
  const tabs = new Map<string, Tab>();
  const byChannel = new Map<number, Tab>();
  // Bumped on every (re)connect: acks for output of an earlier connection mean nothing to the new one.
  let generation = 0;

  const setState = (t: Tab, state: TabState, message?: string): void => {
    if (!t.tab) return;
    t.tab.dataset.state = state;
    t.label.textContent = STATE_TEXT[state];
    t.tab.title = message ?? `${t.host}: ${STATE_TEXT[state]}`;
  };

  const flushAck = (t: Tab): void => {
    clearTimeout(t.ackTimer);
    t.ackTimer = undefined;
    if (t.unacked === 0) return;
    socket.send({ type: 'term-ack', channel: t.channel, bytes: t.unacked });
    t.unacked = 0;
  };

  [...terminals.mounts].forEach(([host, mount], channel) => {
    const tabEl = terminals.root.querySelector<HTMLElement>(`.term-tab[data-host="${CSS.escape(host)}"]`);
    const dot = document.createElement('span');
    dot.className = 'term-dot';
    const label = document.createElement('span');
    label.className = 'term-state-text';
    tabEl?.prepend(dot);
    tabEl?.append(label);
    const t: Tab = {
      host,
      channel,
      tab: tabEl,
      label,
      unacked: 0,
      ackTimer: undefined,
      view: new TerminalView(mount, {
        onInput: (data) => socket.send({ type: 'term-input', channel, data }),
        onResize: (cols, rows) => socket.send({ type: 'term-resize', channel, cols, rows }),
      }),
    };
    tabs.set(host, t);
    byChannel.set(channel, t);
    setState(t, 'connecting');
  });

  const openAll = (): void => {
    generation++;
    for (const t of tabs.values()) {
      clearTimeout(t.ackTimer);
      t.ackTimer = undefined;
      t.unacked = 0;
      t.view.fit();
      setState(t, 'connecting');
      socket.send({ type: 'term-open', channel: t.channel, host: t.host, cols: t.view.cols, rows: t.view.rows });
    }
  };

  const offs = [
    socket.on('welcome', openAll),
    socket.on('term-output', (m) => {
      const t = byChannel.get(m.channel);
      if (!t) return;
      const gen = generation;
      t.view.write(m.data, () => {
        // Output of an earlier connection means nothing to the server's new channel.
        if (gen !== generation) return;
        t.unacked += m.data.length;
        if (t.unacked >= ACK_EVERY) flushAck(t);
        else t.ackTimer ??= setTimeout(() => flushAck(t), 0);
      });
    }),
    socket.on('term-state', (m) => {
      const t = byChannel.get(m.channel);
      if (t) setState(t, m.state, m.message);
    }),
    socket.on('error', (m) => {
      if (m.ref !== 'term-open') return;
      for (const t of tabs.values()) if (t.tab?.dataset.state === 'connecting') setState(t, 'closed', m.message);
    }),
    socket.onStatus((s) => {
      if (s.state === 'open') return;
      for (const t of tabs.values()) setState(t, s.state === 'closed' ? 'closed' : s.state === 'connecting' ? 'connecting' : 'offline', s.detail);
    }),
    terminals.onSelect((host) => {
      const t = tabs.get(host);
      if (!t) return;
      // The pane was hidden (no size) until now.
      requestAnimationFrame(() => {
        t.view.fit();
        t.view.focus();
      });
    }),
  ];
  if (socket.ready) openAll();

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
    for (const off of offs) off();
    for (const t of tabs.values()) {
      clearTimeout(t.ackTimer);
      socket.send({ type: 'term-close', channel: t.channel });
      t.view.dispose();
    }
  };
}

export const terminalFeature: LabPageFeature = { name: 'terminals', attach: attachTerminals };
