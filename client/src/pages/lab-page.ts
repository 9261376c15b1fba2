// The lab page: steps on the left (locked until the previous one is done), terminals on the
// right, one WebSocket for the page. When the lab file changes on disk the server sends
// `lab-changed` and the steps are re-rendered in place — terminals and scroll position stay.
import type { LabView } from '../../../common/lab.ts';
import type { ProgressState } from '../../../common/protocol.ts';
import { ApiError, fetchLab } from '../api.ts';
import { h } from '../dom.ts';
import { renderParts } from '../lab/content-parts.ts';
import type { StepCard } from '../lab/step-card.ts';
import { createStepCard } from '../lab/step-card.ts';
import { stepStates } from '../lab/step-states.ts';
import type { LabPageHandle } from '../lab-page-features.ts';
import { labPageFeatures } from '../lab-page-features.ts';
import type { Page } from '../page.ts';
import { listHref } from '../router.ts';
import { createTerminalArea } from '../terminal-area.ts';
import type { TerminalArea } from '../terminal-area.ts';
import { LabSocket } from '../ws-client.ts';
import type { SocketStatus } from '../ws-client.ts';
import { formatDuration, plural } from './format.ts';

/** Before the server reports progress: the first step is open, the rest wait. */
const INITIAL_PROGRESS: ProgressState = { current: 0, done: [] };

/** The page's own link to the server (the tabs show each host's terminal separately). */
function statusLabel(s: SocketStatus): string {
  switch (s.state) {
    case 'connecting':
      return 'Connecting to the server…';
    case 'open':
      return 'Server connected';
    case 'reconnecting':
      return 'Server connection lost, reconnecting…';
    case 'closed':
      return s.detail ? `Disconnected from the server: ${s.detail}` : 'Disconnected from the server';
  }
}

function errorPage(title: string, message: string): HTMLElement {
  return h('main', { class: 'catalogue' }, h('h1', {}, title), h('p', { class: 'error-text' }, message), h('p', {}, h('a', { href: listHref }, '← All labs')));
}

class LabPage {
  readonly root = h('div', { class: 'lab-layout' });
  readonly #labId: string;
  readonly #status = h('span', { class: 'conn-status', role: 'status' });
  readonly #steps = h('div', { class: 'steps' });
  readonly #header = h('div', { class: 'lab-header' });
  readonly #banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  readonly #left = h('div', { class: 'lab-pane' });
  #view: LabView | undefined;
  #cards: StepCard[] = [];
  #progress: ProgressState = INITIAL_PROGRESS;
  #socket: LabSocket | undefined;
  #terminals: TerminalArea | undefined;
  readonly #renderListeners = new Set<(steps: readonly StepCard[]) => void>();
  readonly #disposers: (() => void)[] = [];
  #disposed = false;

  constructor(labId: string) {
    this.#labId = labId;
    this.root.append(h('div', { class: 'lab-pane-loading muted' }, 'Loading lab…'));
    void this.#load();
  }

  async #load(): Promise<void> {
    let view: LabView;
    try {
      view = await fetchLab(this.#labId);
    } catch (e) {
      if (this.#disposed) return;
      const msg = e instanceof ApiError && e.code === 'lab-broken' ? `${e.message}.` : e instanceof Error ? e.message : String(e);
      this.root.replaceChildren(errorPage('This lab cannot be opened', msg));
      return;
    }
    if (this.#disposed) return;
    this.#view = view;
    this.#terminals = createTerminalArea(view.meta.hosts);
    const socket = new LabSocket({ labId: this.#labId });
    this.#socket = socket;
    this.#left.append(h('a', { class: 'back-link', href: listHref }, '← All labs'), this.#banner, this.#header, this.#steps);
    this.root.replaceChildren(this.#left, h('div', { class: 'term-pane' }, this.#status, this.#terminals.root));
    this.#render(view);
    this.#disposers.push(
      socket.onStatus((s) => {
        this.#status.textContent = statusLabel(s);
        this.#status.dataset.state = s.state;
      }),
      socket.on('lab-changed', () => void this.#reload()),
      socket.on('progress', (m) => {
        this.#progress = m.progress;
        this.#applyProgress();
      }),
    );
    const handle = this.#handle(socket, this.#terminals);
    for (const f of labPageFeatures()) this.#disposers.push(f.attach(handle));
  }

  #handle(socket: LabSocket, terminals: TerminalArea): LabPageHandle {
    const currentView = (): LabView => this.#view!;
    const currentCards = (): readonly StepCard[] => this.#cards;
    return {
      labId: this.#labId,
      get view() {
        return currentView();
      },
      socket,
      terminals,
      get steps() {
        return currentCards();
      },
      onRender: (listener) => {
        this.#renderListeners.add(listener);
        return () => this.#renderListeners.delete(listener);
      },
    };
  }

  #render(view: LabView): void {
    const m = view.meta;
    document.title = `${m.title} · Labwright`;
    this.#header.replaceChildren(
      h('h1', { class: 'lab-title' }, m.title),
      h(
        'p',
        { class: 'lab-facts' },
        m.durationMinutes !== null ? h('span', { class: 'fact' }, formatDuration(m.durationMinutes)) : null,
        h('span', { class: 'fact' }, plural(m.hosts.length, 'host')),
        h('span', { class: 'fact' }, plural(view.steps.length, 'step')),
      ),
      h('div', { class: 'lab-intro' }, ...renderParts(view.intro)),
    );
    this.#cards = view.steps.map((s) => createStepCard(s));
    this.#steps.replaceChildren(...this.#cards.map((c) => c.root));
    this.#applyProgress();
    for (const l of this.#renderListeners) l(this.#cards);
  }

  #applyProgress(): void {
    if (!this.#view) return;
    const states = stepStates(this.#view, this.#progress);
    const replayed = new Set(this.#progress.done.filter((d) => d.replayed === true).map((d) => d.step));
    this.#cards.forEach((c, i) => c.setState(states[i] ?? 'locked', replayed.has(i)));
  }

  /** Live preview: re-fetch and re-render the steps, keeping the scroll position and the terminals. */
  async #reload(): Promise<void> {
    try {
      const view = await fetchLab(this.#labId);
      if (this.#disposed) return;
      const scroll = this.#left.scrollTop;
      this.#view = view;
      this.#banner.hidden = true;
      this.#render(view);
      this.#left.scrollTop = scroll;
    } catch (e) {
      if (this.#disposed) return;
      this.#banner.textContent = `The lab file changed but cannot be loaded: ${e instanceof Error ? e.message : String(e)}. Showing the last good version.`;
      this.#banner.hidden = false;
    }
  }

  dispose(): void {
    this.#disposed = true;
    for (const d of this.#disposers.splice(0)) d();
    this.#socket?.close();
  }
}

export function labPage(labId: string): Page {
  const page = new LabPage(labId);
  return { root: page.root, dispose: () => page.dispose() };
}
