// The right pane: one tab per lab host, each with an empty mount element, plus tabs that features
// add beside them (the Cluster view). The terminal feature (client/src/terminal/) attaches an
// xterm.js instance to each host's mount; this module only does tabs.
import { h } from './dom.ts';

export interface TerminalArea {
  readonly root: HTMLElement;
  /** The element a host's terminal renders into. */
  readonly mounts: ReadonlyMap<string, HTMLElement>;
  /** The host whose terminal tab is visible, or undefined while a panel tab is. */
  readonly activeHost: string | undefined;
  /** Shows the tab of a host or of a panel (by the id it was added with). */
  select(id: string): void;
  /** Called with the host or panel id whose tab became visible (e.g. to fit the terminal to its size). */
  onSelect(listener: (id: string) => void): () => void;
  /** Adds a tab after the hosts' tabs showing `content`; returns what removes it. */
  addPanel(id: string, label: string, content: HTMLElement): () => void;
}

export function createTerminalArea(hosts: readonly string[]): TerminalArea {
  const tabs = h('div', { class: 'term-tabs', role: 'tablist' });
  const panes = h('div', { class: 'term-panes' });
  const mounts = new Map<string, HTMLElement>();
  /** Every tab (hosts and panels) with its pane, in tab order. */
  const all = new Map<string, { tab: HTMLButtonElement; pane: HTMLElement }>();
  const listeners = new Set<(id: string) => void>();
  let active: string | undefined;

  const addTab = (id: string, label: string, pane: HTMLElement, attrs: Record<string, string>): HTMLButtonElement => {
    const tab = h('button', { type: 'button', role: 'tab', class: 'term-tab', ...attrs }, label);
    tab.addEventListener('click', () => area.select(id));
    tabs.append(tab);
    panes.append(pane);
    all.set(id, { tab, pane });
    pane.hidden = true;
    tab.setAttribute('aria-selected', 'false');
    return tab;
  };

  for (const host of hosts) {
    const mount = h('div', { class: 'term-mount', role: 'tabpanel', 'data-host': host });
    addTab(host, host, mount, { 'data-host': host });
    mounts.set(host, mount);
  }

  const area: TerminalArea = {
    root: h('div', { class: 'terminal-area' }, tabs, panes),
    mounts,
    get activeHost() {
      return active !== undefined && mounts.has(active) ? active : undefined;
    },
    select(id) {
      if (!all.has(id)) return;
      active = id;
      for (const [name, t] of all) {
        t.pane.hidden = name !== id;
        t.tab.setAttribute('aria-selected', String(name === id));
      }
      for (const l of listeners) l(id);
    },
    onSelect(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addPanel(id, label, content) {
      const pane = h('div', { class: 'term-panel', role: 'tabpanel', 'aria-label': label }, content);
      const tab = addTab(id, label, pane, { 'data-panel': id });
      return () => {
        if (active === id && hosts[0] !== undefined) area.select(hosts[0]);
        tab.remove();
        pane.remove();
        all.delete(id);
      };
    },
  };
  if (hosts[0] !== undefined) area.select(hosts[0]);
  return area;
}
