// The right pane: one tab per lab host, each with an empty mount element. The terminal feature
// (client/src/terminal/) attaches an xterm.js instance to each mount; this module only does tabs.
import { h } from './dom.ts';

export interface TerminalArea {
  readonly root: HTMLElement;
  /** The element a host's terminal renders into. */
  readonly mounts: ReadonlyMap<string, HTMLElement>;
  readonly activeHost: string | undefined;
  select(host: string): void;
  /** Called with the host whose tab became visible (e.g. to fit the terminal to its size). */
  onSelect(listener: (host: string) => void): () => void;
}

export function createTerminalArea(hosts: readonly string[]): TerminalArea {
  const tabs = h('div', { class: 'term-tabs', role: 'tablist' });
  const panes = h('div', { class: 'term-panes' });
  const mounts = new Map<string, HTMLElement>();
  const tabButtons = new Map<string, HTMLButtonElement>();
  const listeners = new Set<(host: string) => void>();
  let active: string | undefined;

  for (const host of hosts) {
    const tab = h('button', { type: 'button', role: 'tab', class: 'term-tab', 'data-host': host }, host);
    const mount = h('div', { class: 'term-mount', role: 'tabpanel', 'data-host': host });
    tab.addEventListener('click', () => area.select(host));
    tabs.append(tab);
    panes.append(mount);
    mounts.set(host, mount);
    tabButtons.set(host, tab);
  }

  const area: TerminalArea = {
    root: h('div', { class: 'terminal-area' }, tabs, panes),
    mounts,
    get activeHost() {
      return active;
    },
    select(host) {
      if (!mounts.has(host)) return;
      active = host;
      for (const [name, mount] of mounts) {
        mount.hidden = name !== host;
        tabButtons.get(name)?.setAttribute('aria-selected', String(name === host));
      }
      for (const l of listeners) l(host);
    },
    onSelect(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  if (hosts[0] !== undefined) area.select(hosts[0]);
  return area;
}
