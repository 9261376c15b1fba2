// "Boot hosts ahead for every seat" on the dashboard: a switch, and how far the boot has come
// ("Hosts booted ahead: 12 of 40"), so the instructor knows when the class can start joining at once.
import type { DashboardSnapshot } from '../../../common/workshop.ts';
import { ApiError, setBootAhead } from '../api.ts';
import { h } from '../dom.ts';

/** The progress line: undefined while the option is off (unless the server turned it off at start: then why). */
export function bootAheadText(s: Pick<DashboardSnapshot, 'bootAhead' | 'workshop' | 'bootAheadStopped'>): string | undefined {
  const st = s.bootAhead;
  if (!s.workshop.bootAhead) return s.bootAheadStopped;
  if (!st) return undefined;
  if (st.of === 0) return 'Hosts booted ahead: every seat has its hosts.';
  if (st.ready >= st.of) return `Hosts booted ahead: ${st.ready} of ${st.of} — ready, the class can join at once.`;
  return `Hosts booted ahead: ${st.ready} of ${st.of} (booting…)`;
}

export function bootAheadControls(workshopId: string, say: (text: string, ok: boolean) => void): { el: HTMLElement; render(s: DashboardSnapshot): void } {
  const toggle = h('input', { type: 'checkbox', name: 'boot-ahead' });
  const label = h('label', { class: 'boot-ahead-toggle' }, toggle, ' Boot hosts ahead for every seat');
  const progress = h('span', { class: 'boot-ahead-progress', role: 'status', 'aria-live': 'polite' });
  const el = h('section', { class: 'boot-ahead', 'aria-label': 'Boot ahead' }, label, progress);
  toggle.addEventListener('change', () => {
    const on = toggle.checked;
    toggle.disabled = true;
    setBootAhead(workshopId, on)
      .then(
        () => say(on ? 'Booting the hosts of every free seat ahead.' : 'Stopped booting ahead; the unused hosts are being removed.', true),
        (e: unknown) => {
          toggle.checked = !on;
          say(e instanceof ApiError ? `Boot ahead: ${e.message}` : 'Could not reach the server.', false);
        },
      )
      .finally(() => {
        toggle.disabled = false;
      });
  });
  return {
    el,
    render(s) {
      const over = s.workshop.endedAt !== undefined;
      el.hidden = over;
      if (!toggle.disabled) toggle.checked = s.workshop.bootAhead === true;
      const text = bootAheadText(s);
      progress.textContent = text ?? '';
      progress.hidden = text === undefined;
      progress.dataset.ready = String(s.bootAhead !== undefined && s.bootAhead.ready >= s.bootAhead.of);
      progress.classList.toggle('boot-ahead-stopped', !s.workshop.bootAhead && s.bootAheadStopped !== undefined);
    },
  };
}
