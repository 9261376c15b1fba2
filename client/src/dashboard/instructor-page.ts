// #/instructor: the instructor logs in with the credential `labwright serve` printed, then
// creates workshops (lab, capacity, duration) and opens their dashboards.
import type { WorkshopInfo } from '../../../common/workshop.ts';
import { ApiError, createWorkshop, fetchLabs, listWorkshops, login, whoAmI } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../page.ts';
import { logoutButton } from './logout-button.ts';
import { dashboardHref } from './workshop-routes.ts';
import './dashboard.css';

const errorText = (e: unknown): string => (e instanceof ApiError ? e.message : 'Could not reach the server; try again.');

function loginForm(onDone: () => void): HTMLElement {
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', placeholder: 'Instructor credential', 'aria-label': 'Instructor credential', required: true });
  const msg = h('p', { class: 'form-message', role: 'status' });
  const form = h('form', { class: 'inline-form' }, input, h('button', { type: 'submit', class: 'primary' }, 'Log in'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    login(input.value).then(onDone, (e: unknown) => {
      msg.className = 'form-message error-text';
      msg.textContent = errorText(e);
    });
  });
  return h('section', { class: 'panel' }, h('h2', {}, 'Instructor login'), h('p', { class: 'muted' }, 'Paste the credential that labwright serve printed at start (or LABWRIGHT_INSTRUCTOR_TOKEN).'), form, msg);
}

function workshopItem(w: WorkshopInfo): HTMLElement {
  const state = w.endedAt !== undefined ? (w.endReason === 'expired' ? 'expired' : 'ended') : `until ${new Date(w.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  return h(
    'li',
    { class: `workshop-item${w.endedAt !== undefined ? ' over' : ''}` },
    h('a', { href: dashboardHref(w.id) }, w.labTitle),
    h('span', { class: 'muted' }, ` · ${w.attendeeCount}/${w.capacity} attendees · ${state}`),
  );
}

async function createForm(onCreated: (w: WorkshopInfo) => void): Promise<HTMLElement> {
  const labs = (await fetchLabs()).filter((l) => l.ok);
  const select = h('select', { name: 'lab' }, ...labs.map((l) => h('option', { value: l.id }, l.ok ? l.meta.title : l.id)));
  const capacity = h('input', { type: 'number', name: 'capacity', min: '1', max: '200', value: '20' });
  const minutes = h('input', { type: 'number', name: 'minutes', min: '1', value: '120' });
  const bootAhead = h('input', { type: 'checkbox', name: 'boot-ahead' });
  const msg = h('p', { class: 'form-message', role: 'status' });
  const form = h(
    'form',
    { class: 'create-form' },
    h('label', {}, 'Lab', select),
    h('label', {}, 'Seats', capacity),
    h('label', {}, 'Minutes', minutes),
    h('label', { class: 'boot-ahead-toggle', title: 'Every seat gets its hosts booted now, so a class joining at once is handed running hosts (each host holds ~50 MiB meanwhile)' }, bootAhead, ' Boot hosts ahead for every seat'),
    h('button', { type: 'submit', class: 'primary' }, 'Create workshop'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    createWorkshop({ labId: select.value, capacity: Number(capacity.value), minutes: Number(minutes.value), ...(bootAhead.checked ? { bootAhead: true } : {}) }).then(onCreated, (e: unknown) => {
      msg.className = 'form-message error-text';
      msg.textContent = errorText(e);
    });
  });
  return h('section', { class: 'panel' }, h('h2', {}, 'New workshop'), form, msg);
}

export function instructorPage(): Page {
  const head = h('div', { class: 'instructor-head' }, h('h1', {}, 'Workshops'));
  const root = h('main', { class: 'instructor' }, head);
  const body = h('div', {});
  root.append(body);
  const showError = (text: string): void => body.prepend(h('p', { class: 'error-text' }, text));

  const render = async (): Promise<void> => {
    head.querySelector('.logout-button')?.remove();
    if (!(await whoAmI()).instructor) {
      body.replaceChildren(loginForm(() => void render()));
      return;
    }
    head.append(logoutButton(() => void render(), showError));
    const list = h('ul', { class: 'workshop-list' }, ...(await listWorkshops()).map(workshopItem));
    body.replaceChildren(
      await createForm((w) => {
        location.hash = dashboardHref(w.id);
      }),
      h('section', { class: 'panel' }, h('h2', {}, 'Your workshops'), list.childElementCount ? list : h('p', { class: 'muted' }, 'None yet.')),
    );
  };
  render().catch((e: unknown) => body.replaceChildren(h('p', { class: 'error-text' }, errorText(e))));
  return { root, dispose: () => undefined };
}
