// Catch-up on the dashboard: bring one attendee (their detail) or everyone (Room at a glance) to a
// step; the server replays the solutions of the steps before it. Each row then shows where it stands.
import type { CatchUpOutcome } from '../../../common/catch-up.ts';
import type { AttendeeRow, DashboardSnapshot } from '../../../common/workshop.ts';
import { ApiError, catchUp } from '../api.ts';
import { h } from '../dom.ts';

/** The step the instructor last picked, per attendee ('' for everyone): snapshots redraw the control. */
const picked = new Map<string, string>();

function stepSelect(s: DashboardSnapshot, from: number, key: string, label: string): HTMLSelectElement {
  const options: HTMLOptionElement[] = [];
  for (let n = Math.max(2, from + 2); n <= s.steps.length + 1; n++) {
    options.push(h('option', { value: String(n) }, n > s.steps.length ? 'the end (every step done)' : `${n}. ${s.steps[n - 1] ?? ''}`));
  }
  const select = h('select', { 'aria-label': label }, ...options);
  const prev = picked.get(key);
  if (prev && options.some((o) => o.value === prev)) select.value = prev;
  select.addEventListener('change', () => picked.set(key, select.value));
  return select;
}

export function outcomeText(outcomes: CatchUpOutcome[]): { text: string; ok: boolean } {
  const started = outcomes.filter((o) => o.ok);
  const refused = outcomes.filter((o) => !o.ok);
  const parts = [];
  if (started.length > 0) parts.push(`Catching up ${started.map((o) => o.name).join(', ')}.`);
  if (refused.length > 0) parts.push(`Not for ${refused.map((o) => `${o.name} (${o.message})`).join('; ')}.`);
  if (outcomes.length === 0) parts.push('Nobody to catch up.');
  return { text: parts.join(' '), ok: refused.length === 0 && outcomes.length > 0 };
}

/** Asks the server to catch attendees up and says what it answered. */
function startCatchUp(workshopId: string, step: number, attendee: string | undefined, say: (text: string, ok: boolean) => void): Promise<void> {
  return catchUp(workshopId, step, attendee)
    .then((o) => {
      const t = outcomeText(o);
      say(t.text, t.ok);
    })
    .catch((e: unknown) => say(e instanceof ApiError ? e.message : 'Could not reach the server.', false));
}

/** What the row's last catch-up says, for the detail pane (null: none). */
export function catchUpStatusLine(s: DashboardSnapshot, r: AttendeeRow): HTMLElement | null {
  const c = r.catchUp;
  if (!c) return null;
  const target = c.toStep >= s.steps.length ? 'the end' : `step ${c.toStep + 1}`;
  if (c.state === 'running') return h('p', { class: 'muted catch-up-status', role: 'status' }, `Catching up to ${target}: replaying step ${(c.step ?? 0) + 1}…`);
  if (c.state === 'done') return h('p', { class: 'ok-text catch-up-status', role: 'status' }, `Caught up to ${target}.`);
  return h('p', { class: 'error-text catch-up-status', role: 'alert' }, `Catch-up stopped at step ${(c.step ?? 0) + 1}: ${c.message ?? 'no reason given'}`);
}

/** One attendee's control (detail pane). */
export function attendeeCatchUp(workshopId: string, s: DashboardSnapshot, r: AttendeeRow, say: (text: string, ok: boolean) => void): HTMLElement | null {
  if (r.current >= s.steps.length || s.workshop.endedAt !== undefined) return catchUpStatusLine(s, r);
  const select = stepSelect(s, r.current, r.id, `Catch ${r.name} up to step`);
  const go = h('button', { type: 'button' }, 'Catch up');
  go.disabled = r.catchUp?.state === 'running' || r.env !== 'ready';
  go.addEventListener('click', () => {
    const step = Number(select.value);
    if (!confirm(`Replay the solutions of ${r.name}'s steps before step ${step > s.steps.length ? 'the end' : step} on their hosts?`)) return;
    go.disabled = true;
    void startCatchUp(workshopId, step, r.id, say);
  });
  return h('div', { class: 'catch-up', role: 'group', 'aria-label': 'Catch up' }, h('span', {}, 'Catch up to step '), select, go, catchUpStatusLine(s, r));
}

/** The room's control (Room at a glance). */
export function roomCatchUp(workshopId: string, say: (text: string, ok: boolean) => void): { el: HTMLElement; render(s: DashboardSnapshot): void } {
  const el = h('span', { class: 'catch-up room-catch-up', role: 'group', 'aria-label': 'Catch everyone up' });
  return {
    el,
    render(s) {
      if (s.workshop.endedAt !== undefined || s.steps.length < 1) {
        el.replaceChildren();
        return;
      }
      const select = stepSelect(s, 0, '', 'Catch everyone up to step');
      const go = h('button', { type: 'button' }, 'Catch up everyone');
      go.addEventListener('click', () => {
        const step = Number(select.value);
        if (!confirm(`Replay the solutions of every attendee's steps before ${step > s.steps.length ? 'the end' : `step ${step}`} on their hosts? Attendees already there are left alone.`)) return;
        void startCatchUp(workshopId, step, undefined, say);
      });
      el.replaceChildren('Catch everyone up to step ', select, go);
    },
  };
}
