// The lab page's side of `setup HOST` blocks: while the server prepares the open step, the step
// says "Preparing this step…" and its Check button waits; if preparing failed, it says "This step
// could not be prepared" with the host and reason, and a Retry button asks the server to run it again.
import type { StepSetupStatus } from '../../../common/protocol.ts';
import { h } from '../dom.ts';
import type { StepCard } from '../lab/step-card.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import './setup.css';

function attach(page: LabPageHandle): () => void {
  /** The last status of each step the server reported. */
  const statuses = new Map<number, StepSetupStatus>();

  function render(card: StepCard): void {
    const s = statuses.get(card.index);
    let box = card.root.querySelector<HTMLElement>('.step-setup');
    const prepared = !s || s.state === 'ready';
    card.root.dataset.setup = s?.state ?? 'none';
    for (const b of card.root.querySelectorAll<HTMLButtonElement>('.check-button, .skip-button')) {
      if (!prepared) b.disabled = true;
      else if (card.state !== 'locked') b.disabled = false;
    }
    if (prepared) {
      box?.remove();
      return;
    }
    if (!box) {
      box = h('div', { class: 'step-setup' });
      const body = card.root.querySelector('.step-body');
      body?.prepend(box);
    }
    if (s.state === 'running') {
      box.setAttribute('role', 'status');
      box.replaceChildren(h('p', { class: 'setup-running checking' }, 'Preparing this step…'));
      return;
    }
    box.setAttribute('role', 'alert');
    const retry = h('button', { type: 'button', class: 'setup-retry' }, 'Retry');
    retry.addEventListener('click', () => {
      if (page.socket.send({ type: 'setup-retry', step: card.index })) retry.disabled = true;
    });
    const why = `${s.host ? `${s.host}: ` : ''}${s.reason ?? 'no reason given'}`;
    box.replaceChildren(h('p', { class: 'setup-failed' }, h('strong', {}, 'This step could not be prepared'), h('span', { class: 'setup-reason' }, why)), retry);
  }

  const renderAll = (cards: readonly StepCard[]): void => {
    for (const c of cards) render(c);
  };

  const offs = [
    page.socket.on('step-setup', (m) => {
      statuses.set(m.setup.step, m.setup);
      const card = page.steps[m.setup.step];
      if (card) render(card);
    }),
    // The step cards set their buttons from progress; the setup state goes on top of that.
    page.socket.on('progress', () => queueMicrotask(() => renderAll(page.steps))),
    page.socket.on('error', (m) => {
      if (m.ref !== 'setup-retry') return;
      for (const b of document.querySelectorAll<HTMLButtonElement>('.setup-retry')) b.disabled = false;
    }),
    page.onRender(renderAll),
  ];
  return () => {
    for (const off of offs) off();
  };
}

export const setupFeature: LabPageFeature = { name: 'setup', attach };
