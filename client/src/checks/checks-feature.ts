// The lab page's checks: runs a step's checks when its Check button is pressed, shows each
// `check-report` under its step (explicit and automatic ones), animates a step that just passed and
// the one it unlocks, and adds a Skip button to steps the lab lets attendees skip (the server types
// the solution into the terminals, then checks).
import type { StepReport } from '../../../common/checks.ts';
import type { ProgressState } from '../../../common/protocol.ts';
import { h } from '../dom.ts';
import type { StepCard } from '../lab/step-card.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { renderReport } from './check-report-view.ts';
import { CheckRequests } from './check-requests.ts';
import './checks.css';

const ANIMATION_MS = 1600;
const NOT_CONNECTED = 'Not connected to the server; try again in a moment.';
const SKIP_FELL_SHORT =
  'The solution was typed into your terminals, but these checks still fail: it may clash with what was done before (a name already taken, a port in use). Look at the terminal output and the hint.';

function attach(page: LabPageHandle): () => void {
  const reports = new Map<number, { report: StepReport; auto: boolean; note?: string }>();
  const requests = new CheckRequests();
  /** Check buttons already wired: the cards are new after every re-render, the old ones are gone. */
  const wired = new WeakSet<HTMLButtonElement>();
  let done = new Set<number>();
  let seenProgress = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const show = (card: StepCard): void => {
    const r = reports.get(card.index);
    if (r) card.results.replaceChildren(renderReport(r.report, r.auto, r.note));
  };

  const flash = (card: StepCard | undefined, cls: string): void => {
    if (!card) return;
    card.root.classList.add(cls);
    const t = setTimeout(() => {
      card.root.classList.remove(cls);
      timers.delete(t);
    }, ANIMATION_MS);
    timers.add(t);
  };

  // A Check press: its answer is explicit (shown as "Checked", not "Checked automatically").
  function check(card: StepCard): void {
    if (!page.socket.send({ type: 'check-run', step: card.index })) {
      card.results.replaceChildren(h('p', { class: 'check-error' }, NOT_CONNECTED));
      return;
    }
    requests.checkSent(card.index);
    card.results.replaceChildren(h('p', { class: 'muted' }, 'Checking…'));
  }

  function wireCheckButtons(cards: readonly StepCard[]): void {
    for (const card of cards) {
      if (wired.has(card.checkButton)) continue;
      wired.add(card.checkButton);
      card.checkButton.addEventListener('click', () => check(card));
    }
  }

  function addSkipButtons(cards: readonly StepCard[]): void {
    for (const card of cards) {
      const step = page.view.steps[card.index];
      const actions = card.root.querySelector('.step-actions');
      if (!step?.canSkip || !actions || actions.querySelector('.skip-button')) continue;
      const button = h('button', { type: 'button', class: 'skip-button', title: 'Type this step’s solution into the terminals and check it' }, 'Skip step');
      button.addEventListener('click', () => {
        if (!window.confirm('Skip this step? Its solution will be typed into your terminals.')) return;
        if (!page.socket.send({ type: 'step-skip', step: card.index })) {
          card.results.replaceChildren(h('p', { class: 'check-error' }, NOT_CONNECTED));
          return;
        }
        requests.skipSent(card.index);
        button.disabled = true;
        card.results.replaceChildren(h('p', { class: 'muted checking' }, 'Running the solution…'));
      });
      card.checkButton.after(button);
    }
  }

  const onReport = (report: StepReport): void => {
    const { auto, skipFellShort } = requests.report(report.step, report.passed);
    const note = skipFellShort ? SKIP_FELL_SHORT : undefined;
    reports.set(report.step, note ? { report, auto, note } : { report, auto });
    const card = page.steps[report.step];
    if (!card) return;
    card.root.dataset.checked = report.passed ? 'pass' : 'fail';
    for (const b of card.root.querySelectorAll<HTMLButtonElement>('.skip-button')) b.disabled = false;
    show(card);
  };

  const onProgress = (p: ProgressState): void => {
    const now = new Set(p.done.map((d) => d.step));
    // The first progress after (re)connecting describes the past: nothing to celebrate.
    if (seenProgress) {
      for (const step of now) {
        if (done.has(step)) continue;
        flash(page.steps[step], 'just-done');
        if (step + 1 === p.current) flash(page.steps[p.current], 'just-unlocked');
      }
    }
    seenProgress = true;
    done = now;
  };

  const offs = [
    page.socket.on('check-report', (m) => onReport(m.report)),
    page.socket.on('progress', (m) => onProgress(m.progress)),
    page.socket.on('welcome', () => {
      seenProgress = false;
    }),
    page.socket.on('error', (m) => {
      if (m.ref !== 'check-run') return;
      const step = requests.checkRefused();
      if (step !== undefined) page.steps[step]?.results.replaceChildren(h('p', { class: 'check-error' }, m.message));
    }),
    page.socket.on('error', (m) => {
      if (m.ref !== 'step-skip') return;
      for (const card of page.steps) {
        if (!card.root.querySelector('.skip-button:disabled')) continue;
        card.results.replaceChildren(h('p', { class: 'check-error' }, m.message));
        for (const b of card.root.querySelectorAll<HTMLButtonElement>('.skip-button')) b.disabled = false;
      }
      requests.skipRefused();
    }),
    page.onRender((cards) => {
      wireCheckButtons(cards);
      addSkipButtons(cards);
      for (const c of cards) show(c);
    }),
  ];
  wireCheckButtons(page.steps);
  addSkipButtons(page.steps);

  return () => {
    for (const off of offs) off();
    for (const t of timers) clearTimeout(t);
  };
}

export const checksFeature: LabPageFeature = { name: 'checks', attach };
