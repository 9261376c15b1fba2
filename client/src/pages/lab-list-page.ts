// The lab catalogue: one card per lab (title, summary, duration, hosts, steps); a broken lab is
// listed with its lint problems (file:line) so an author sees what to fix.
import type { LabSummary } from '../../../common/lab.ts';
import { fetchLabs } from '../api.ts';
import { h } from '../dom.ts';
import type { Page } from '../page.ts';
import { labHref } from '../router.ts';
import { formatDuration, plural } from './format.ts';

function labCard(lab: LabSummary): HTMLElement {
  if (!lab.ok) {
    return h(
      'li',
      { class: 'lab-card broken', 'data-lab': lab.id },
      h('div', { class: 'lab-card-head' }, h('h2', {}, lab.title || lab.id), h('span', { class: 'badge badge-error' }, 'Broken')),
      h('p', { class: 'muted' }, `labs/${lab.id} cannot be opened until these ${plural(lab.problems.length, 'problem')} are fixed:`),
      h(
        'ul',
        { class: 'problems' },
        ...lab.problems.map((p) =>
          h('li', { class: `problem ${p.severity}` }, h('code', { class: 'problem-where' }, `${p.file}:${p.line}`), ' ', h('span', {}, p.message)),
        ),
      ),
    );
  }
  const m = lab.meta;
  return h(
    'li',
    { class: 'lab-card', 'data-lab': lab.id },
    h('a', { class: 'lab-link', href: labHref(lab.id) }, h('h2', {}, m.title)),
    m.summary ? h('p', { class: 'lab-summary' }, m.summary) : null,
    h(
      'p',
      { class: 'lab-facts' },
      m.durationMinutes !== null ? h('span', { class: 'fact' }, formatDuration(m.durationMinutes)) : null,
      h('span', { class: 'fact' }, plural(m.hosts.length, 'host')),
      h('span', { class: 'fact' }, plural(lab.stepCount, 'step')),
    ),
  );
}

export function labListPage(): Page {
  const list = h('ul', { class: 'lab-list' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading labs…');
  const root = h(
    'main',
    { class: 'catalogue' },
    h('header', { class: 'catalogue-head' }, h('h1', {}, 'Labs'), h('p', { class: 'muted' }, 'Hands-on exercises on real hosts. Pick one to start.')),
    status,
    list,
  );
  let disposed = false;
  fetchLabs().then(
    (labs) => {
      if (disposed) return;
      status.textContent = labs.length === 0 ? 'No labs found in the labs folder.' : '';
      status.hidden = labs.length > 0;
      list.replaceChildren(...labs.map(labCard));
    },
    (e: unknown) => {
      status.textContent = `Could not load the labs: ${e instanceof Error ? e.message : String(e)}`;
      status.classList.add('error-text');
    },
  );
  return {
    root,
    dispose: () => {
      disposed = true;
    },
  };
}
