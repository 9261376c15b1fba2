// "Reset this step" on the lab page: the open step has a button that, once confirmed, asks the server to put
// the attendee's hosts back to how they were when the step opened (step-reset); a status line says what happens
// and when it is done, or why it cannot be done (no snapshot of this step, a provider without snapshots).
import type { StepResetStatus } from '../../../common/protocol.ts';
import { h } from '../dom.ts';
import type { StepCard } from '../lab/step-card.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import './step-reset.css';

const CONFIRM =
  'Reset this step?\n\nYour hosts go back to how they were when this step opened: files, containers, services and etcd data changed since then are lost, and your terminals reconnect to fresh shells. Steps you finished stay done.';

function statusText(s: StepResetStatus): string {
  switch (s.state) {
    case 'running':
      return 'Resetting this step: your hosts are being put back to how they were when it opened. Terminals reconnect when they are ready…';
    case 'done':
      return 'This step was reset: your hosts are as they were when it opened.';
    case 'unavailable':
      return s.code === 'unsupported' || s.code === 'no-snapshot'
        ? `This step cannot be reset: ${s.message}. Ask your instructor for a full reset of your lab (new hosts, from the first step).`
        : `This step cannot be reset now: ${s.message}.`;
    case 'failed':
      return s.message;
  }
}

function attach(page: LabPageHandle): () => void {
  let last: StepResetStatus | undefined;

  function render(card: StepCard): void {
    let box = card.root.querySelector<HTMLElement>('.step-reset');
    if (card.state !== 'open') {
      box?.remove();
      return;
    }
    if (!box) {
      const button = h('button', { type: 'button', class: 'step-reset-button' }, 'Reset this step');
      button.addEventListener('click', () => {
        if (!window.confirm(CONFIRM)) return;
        if (page.socket.send({ type: 'step-reset', step: card.index })) button.disabled = true;
      });
      box = h('div', { class: 'step-reset' }, button, h('p', { class: 'step-reset-status', role: 'status', 'aria-live': 'polite' }));
      card.root.querySelector('.step-body')?.append(box);
    }
    const s = last?.step === card.index ? last : undefined;
    const button = box.querySelector<HTMLButtonElement>('.step-reset-button');
    if (button) button.disabled = s?.state === 'running';
    const status = box.querySelector<HTMLElement>('.step-reset-status');
    if (status) {
      status.textContent = s ? statusText(s) : '';
      status.dataset.state = s?.state ?? '';
    }
  }

  const renderAll = (cards: readonly StepCard[]): void => {
    for (const c of cards) render(c);
  };

  const offs = [
    page.socket.on('step-reset', (m) => {
      last = m.reset;
      renderAll(page.steps);
    }),
    // Cards set their state from progress; the button follows the open step.
    page.socket.on('progress', () => queueMicrotask(() => renderAll(page.steps))),
    page.socket.on('error', (m) => {
      if (m.ref !== 'step-reset') return;
      for (const b of document.querySelectorAll<HTMLButtonElement>('.step-reset-button')) b.disabled = false;
    }),
    page.onRender(renderAll),
  ];
  return () => {
    for (const off of offs) off();
  };
}

export const stepResetFeature: LabPageFeature = { name: 'step-reset', attach };
