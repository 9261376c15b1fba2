// The attendee's join link (#/join/<token>): enter a display name, get a session and hosts, and
// land on the lab page. A returning attendee (cookie) goes straight back to their lab.
import { ApiError, join, joinInfo } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../page.ts';
import { labHref } from '../router.ts';
import './join.css';

const STATE_TEXT = {
  full: 'This workshop is full. Ask your instructor for a seat.',
  ended: 'This workshop has ended.',
  expired: 'This workshop has expired.',
} as const;

export function joinPage(token: string): Page {
  const message = h('p', { class: 'join-message', role: 'status' });
  const root = h('main', { class: 'join' }, h('div', { class: 'join-card' }, h('h1', {}, 'Join the workshop'), message));
  const card = root.firstElementChild as HTMLElement;
  let disposed = false;

  const fail = (e: unknown): void => {
    message.className = 'join-message error-text';
    message.textContent = e instanceof ApiError ? e.message : 'Could not reach the server; try again.';
  };

  void joinInfo(token).then((info) => {
    if (disposed) return;
    if (info.you) {
      location.hash = labHref(info.labId);
      return;
    }
    card.insertBefore(h('p', { class: 'join-lab' }, info.labTitle), message);
    if (info.state !== 'open') {
      message.className = 'join-message error-text';
      message.textContent = STATE_TEXT[info.state];
      return;
    }
    const input = h('input', { name: 'name', required: true, maxlength: '40', autocomplete: 'nickname', placeholder: 'Your name', 'aria-label': 'Your name' });
    const button = h('button', { type: 'submit', class: 'primary' }, 'Join');
    const form = h('form', { class: 'join-form' }, input, button);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      button.disabled = true;
      message.textContent = 'Getting your lab hosts…';
      join(token, input.value).then(
        (r) => {
          location.hash = labHref(r.labId);
        },
        (e: unknown) => {
          button.disabled = false;
          fail(e);
        },
      );
    });
    card.insertBefore(form, message);
    input.focus();
  }, fail);

  return {
    root,
    dispose: () => {
      disposed = true;
    },
  };
}
