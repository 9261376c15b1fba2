// "Room at a glance" on the dashboard: a heat strip with one card per step (how many attendees are
// on it, the median time it took, the checks failing most there) and the progress export links.
import type { DashboardSnapshot } from '../../../common/workshop.ts';
import type { StepHeat } from '../../../common/room-heat.ts';
import { h } from '../dom.ts';
import { duration } from '../pages/format.ts';
import { roomCatchUp } from './catch-up-controls.ts';

export interface RoomGlance {
  el: HTMLElement;
  /** Draws the strip from the snapshot and its heat (common/room-heat.ts), which the grid's header also uses. */
  render(s: DashboardSnapshot, heat: readonly StepHeat[]): void;
}

export function roomGlance(workshopId: string, say: (text: string, ok: boolean) => void): RoomGlance {
  const catchUpAll = roomCatchUp(workshopId, say);
  const exportHref = (format: 'csv' | 'json'): string => new URL(`api/workshops/${encodeURIComponent(workshopId)}/export${format === 'csv' ? '?format=csv' : ''}`, document.baseURI).toString();
  const strip = h('ol', { class: 'heat-strip', 'aria-label': 'Steps at a glance' });
  const el = h(
    'section',
    { class: 'room-glance', 'aria-label': 'Room at a glance' },
    h(
      'div',
      { class: 'glance-head' },
      h('h2', {}, 'Room at a glance'),
      h('span', { class: 'glance-exports' }, 'Export progress: ', h('a', { href: exportHref('csv'), download: '' }, 'CSV'), ' · ', h('a', { href: exportHref('json'), download: '' }, 'JSON')),
      catchUpAll.el,
    ),
    strip,
  );
  return {
    el,
    render(s, heat) {
      catchUpAll.render(s);
      const most = Math.max(1, ...heat.map((x) => x.here));
      strip.replaceChildren(
        ...heat.map((x) => {
          const median = x.medianMs === null ? 'nobody finished yet' : `median ${duration(x.medianMs)} (${x.finished} finished)`;
          const card = h(
            'li',
            { class: `heat-card${x.here > 0 ? ' busy' : ''}`, 'data-step': String(x.step) },
            h('span', { class: 'heat-title', title: x.title }, `${x.step + 1}. ${x.title}`),
            h('span', { class: 'heat-here' }, h('b', {}, String(x.here)), ' here'),
            h('span', { class: 'heat-time muted' }, median),
            x.failing.length > 0
              ? h('span', { class: 'heat-fails' }, 'Fails most: ', ...x.failing.flatMap((f, i) => [i > 0 ? ', ' : null, h('span', { class: 'heat-fail' }, `${f.label} (${f.count})`)]))
              : null,
          );
          // Heat: the busiest step is the darkest.
          card.style.setProperty('--heat', (x.here / most).toFixed(2));
          return card;
        }),
      );
    },
  };
}
