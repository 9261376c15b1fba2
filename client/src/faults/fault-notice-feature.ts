// The lab page's fault notices: when the instructor breaks something on the attendee's hosts, a
// notice above the steps says so ("Find it and repair it"), and turns into "Repaired" once the
// fault's step checks pass again. The server decides both; the page only shows them.
import type { FaultNotice } from '../../../common/faults.ts';
import { noticeText } from '../../../common/faults.ts';
import { h } from '../dom.ts';
import type { LabPageFeature } from '../lab-page-features.ts';
import './faults.css';

function noticeItem(n: FaultNotice): HTMLElement {
  return h('li', { class: `fault-notice ${n.state}`, 'data-state': n.state }, h('b', {}, n.state === 'repaired' ? '✓' : 'Something changed'), ' ', noticeText(n));
}

export const faultNoticeFeature: LabPageFeature = {
  name: 'fault-notices',
  attach(page) {
    const box = h('section', { class: 'fault-notices', role: 'status', 'aria-label': 'Notices from your instructor', hidden: true });
    const place = (): void => {
      const steps = page.steps[0]?.root.parentElement;
      if (steps && box.nextElementSibling !== steps) steps.before(box);
    };
    place();
    const offRender = page.onRender(place);
    const off = page.socket.on('fault-notices', (m) => {
      // Newest first: the fault just fired is what the attendee must read.
      const notices = [...m.notices].sort((a, b) => b.firedAt - a.firedAt);
      box.replaceChildren(...(notices.length ? [h('h2', {}, 'From your instructor'), h('ul', {}, ...notices.map(noticeItem))] : []));
      box.hidden = notices.length === 0;
      place();
    });
    return () => {
      off();
      offRender();
      box.remove();
    };
  },
};
