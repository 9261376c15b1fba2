// The lab page's side of the help loop: "Raise hand" (with an optional line of text) and "Lower
// hand", the instructor's messages, the prompt when the instructor asks for the keyboard
// (Allow / Deny), and while they have it a banner with "Take back". The server decides it all.
import type { HelpState } from '../../../common/help.ts';
import { MAX_HAND_TEXT, helpTextProblem } from '../../../common/help.ts';
import { h } from '../dom.ts';
import type { LabPageFeature } from '../lab-page-features.ts';
import { helpTime } from './help-text.ts';
import './help.css';

const REFS = new Set(['hand-raise', 'hand-lower', 'keyboard-reply', 'keyboard-take-back']);

export const helpFeature: LabPageFeature = {
  name: 'help',
  attach(page) {
    const text = h('input', { type: 'text', class: 'hand-text', maxlength: String(MAX_HAND_TEXT), 'aria-label': 'What do you need help with? (optional)', placeholder: 'What do you need help with? (optional)' });
    const raise = h('button', { type: 'button', class: 'primary hand-raise' }, 'Raise hand');
    const lower = h('button', { type: 'button', class: 'hand-lower' }, 'Lower hand');
    const handNote = h('span', { class: 'hand-note', role: 'status' });
    const problem = h('p', { class: 'error-text help-problem', role: 'alert', hidden: true });
    const messages = h('ul', { class: 'help-messages' });
    const messagesBox = h('section', { class: 'help-messages-box', 'aria-label': 'Messages from your instructor', hidden: true }, h('h2', {}, 'Messages from your instructor'), messages);
    const allow = h('button', { type: 'button', class: 'primary' }, 'Allow');
    const deny = h('button', { type: 'button' }, 'Deny');
    const prompt = h('div', { class: 'keyboard-prompt', role: 'alertdialog', 'aria-label': 'Keyboard request', hidden: true }, h('p', {}, 'Your instructor asks to type in your terminal. They will see and type into your shell until you take it back.'), h('div', { class: 'keyboard-prompt-actions' }, allow, deny));
    const takeBack = h('button', { type: 'button', class: 'danger' }, 'Take back');
    const banner = h('div', { class: 'keyboard-banner', role: 'alert', hidden: true }, h('b', {}, 'The instructor is typing in your terminal'), ' — ', takeBack);
    const bar = h('div', { class: 'help-bar' }, text, raise, handNote, lower);
    const box = h('section', { class: 'help-box', 'aria-label': 'Help', hidden: true }, bar, problem, messagesBox, prompt, banner);

    const send = (m: Parameters<typeof page.socket.send>[0]): void => {
      problem.hidden = true;
      if (!page.socket.send(m)) {
        problem.textContent = 'Not connected to the server; try again in a moment.';
        problem.hidden = false;
      }
    };
    raise.addEventListener('click', () => {
      const words = text.value.trim();
      // The server refuses it too; saying why here keeps what was typed.
      const wrong = helpTextProblem(words, MAX_HAND_TEXT);
      if (wrong) {
        problem.textContent = `Not sent: ${wrong}`;
        problem.hidden = false;
        return;
      }
      send({ type: 'hand-raise', ...(words ? { text: words } : {}) });
    });
    text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') raise.click();
    });
    lower.addEventListener('click', () => send({ type: 'hand-lower' }));
    allow.addEventListener('click', () => send({ type: 'keyboard-reply', allow: true }));
    deny.addEventListener('click', () => send({ type: 'keyboard-reply', allow: false }));
    takeBack.addEventListener('click', () => send({ type: 'keyboard-take-back' }));

    const place = (): void => {
      const header = page.steps[0]?.root.parentElement?.parentElement?.querySelector('.lab-header');
      if (header && box.previousElementSibling !== header) header.after(box);
    };
    place();
    const offRender = page.onRender(place);

    function render(s: HelpState): void {
      box.hidden = false;
      const raised = s.hand !== undefined;
      text.hidden = raised;
      raise.hidden = raised;
      lower.hidden = !raised;
      handNote.textContent = s.hand ? `Your hand is raised${s.hand.text ? `: “${s.hand.text}”` : ''}` : '';
      if (!raised && document.activeElement !== text) text.value = '';
      messagesBox.hidden = s.messages.length === 0;
      messages.replaceChildren(
        ...s.messages.map((m) => h('li', { class: `help-message ${m.kind}` }, h('span', { class: 'muted' }, `${helpTime(m.at)} · ${m.kind === 'broadcast' ? 'To everyone' : 'To you'}`), ' ', h('span', { class: 'help-message-text' }, m.text))),
      );
      prompt.hidden = s.keyboard !== 'requested';
      banner.hidden = s.keyboard !== 'granted';
      document.body.classList.toggle('keyboard-shared', s.keyboard === 'granted');
    }

    const offState = page.socket.on('help-state', (m) => render(m.help));
    const offError = page.socket.on('error', (m) => {
      if (m.ref === undefined || !REFS.has(m.ref)) return;
      problem.textContent = m.message;
      problem.hidden = false;
    });
    return () => {
      offState();
      offError();
      offRender();
      document.body.classList.remove('keyboard-shared');
      box.remove();
    };
  },
};
