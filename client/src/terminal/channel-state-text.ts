// What a terminal's state looks like on screen: the lab page's tab (dot, label, tooltip) and the
// dashboard mirror's tab label and the note over its terminal. Pure, so the wording is testable.
import type { ChannelState } from './terminal-channel.ts';

/** The lab tab's data-state (styled by terminal.css): a refused open shows as closed. */
export type TabState = Exclude<ChannelState, 'refused'>;

const TAB_LABEL: Record<TabState, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  unreachable: 'host unreachable',
  closed: 'closed',
  offline: 'reconnecting…',
};

export interface TabText {
  state: TabState;
  label: string;
  /** The tab's tooltip: the server's reason when there is one. */
  title: string;
}

export function tabText(host: string, state: ChannelState, message?: string): TabText {
  const shown: TabState = state === 'refused' ? 'closed' : state;
  const label = TAB_LABEL[shown];
  return { state: shown, label, title: message ?? `${host}: ${label}` };
}

export interface MirrorText {
  label: string;
  /** Shown over the terminal while it is not connected, saying why; undefined once connected. */
  note: string | undefined;
}

export function mirrorText(host: string, state: ChannelState, message?: string): MirrorText {
  switch (state) {
    case 'connected':
      return { label: 'read-only', note: undefined };
    case 'connecting':
      return { label: 'connecting…', note: `connecting to ${host}…` };
    case 'unreachable':
      return { label: 'unreachable', note: `${host} is unreachable${message ? `: ${message}` : ''}` };
    case 'refused':
      return { label: 'refused', note: message ?? `${host}: refused` };
    case 'offline':
      return { label: 'reconnecting', note: `${host}: reconnecting…` };
    case 'reconnecting':
    case 'closed':
      return { label: state, note: `${host}: ${state}…` };
  }
}
