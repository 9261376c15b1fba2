// One step of a lab: its number and title, its content (hidden while locked), a Check button and
// the place where check results appear. The checks feature wires the button and fills the results.
import type { StepView } from '../../../common/lab.ts';
import { h } from '../dom.ts';
import { renderParts } from './content-parts.ts';

export type StepState = 'locked' | 'open' | 'done';

export interface StepCard {
  readonly index: number;
  readonly root: HTMLElement;
  readonly checkButton: HTMLButtonElement;
  /** Where check results for this step are shown (filled from `check-report`). */
  readonly results: HTMLElement;
  readonly state: StepState;
  /** `replayed`: done by the instructor's catch-up (the status says so), not by the attendee. */
  setState(state: StepState, replayed?: boolean): void;
}

export function createStepCard(step: StepView): StepCard {
  const n = step.index + 1;
  const badge = h('span', { class: 'step-badge', 'aria-hidden': 'true' }, String(n));
  const lockNote = h('p', { class: 'lock-note' }, `Locked — finish step ${step.index} first.`);
  const checkButton = h('button', { type: 'button', class: 'check-button' }, 'Check');
  const results = h('div', { class: 'check-results', 'aria-live': 'polite' });
  const body = h(
    'div',
    { class: 'step-body' },
    ...renderParts(step.parts),
    step.checkCount > 0 ? h('div', { class: 'step-actions' }, checkButton, results) : null,
  );
  const root = h(
    'section',
    { class: 'step', 'data-step': String(step.index), 'aria-label': `Step ${n}: ${step.title}` },
    h('h2', { class: 'step-title' }, badge, h('span', {}, step.title), h('span', { class: 'step-status' })),
    lockNote,
    body,
  );
  let state: StepState = 'open';
  const card: StepCard = {
    index: step.index,
    root,
    checkButton,
    results,
    get state() {
      return state;
    },
    setState(next, replayed = false) {
      state = next;
      root.dataset.state = next;
      body.hidden = next === 'locked';
      lockNote.hidden = next !== 'locked';
      checkButton.disabled = next === 'locked';
      const status = root.querySelector('.step-status');
      if (status) status.textContent = next === 'done' ? (replayed ? 'Done — replayed by your instructor' : 'Done') : next === 'locked' ? 'Locked' : '';
    },
  };
  card.setState('open');
  return card;
}
