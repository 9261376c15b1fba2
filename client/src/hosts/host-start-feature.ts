// A line above the terminals while the attendee's hosts are being made: a class joining at once waits
// in the server's boot queue, and the page says so ("waiting to boot: 3 environments ahead") instead of
// leaving every terminal on "connecting…". Gone once the hosts are ready.
import { h } from '../dom.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { hostStartText } from './host-start-text.ts';
import './host-start.css';

function attach(page: LabPageHandle): () => void {
  const line = h('p', { class: 'host-start', role: 'status', 'aria-live': 'polite', hidden: true });
  page.terminals.root.before(line);
  const off = page.socket.on('env-status', (m) => {
    const t = hostStartText(m);
    line.hidden = t.text === undefined;
    line.textContent = t.text ?? '';
    line.setAttribute('role', t.role);
    line.dataset.state = m.state;
  });
  return () => {
    off();
    line.remove();
  };
}

export const hostStartFeature: LabPageFeature = { name: 'host-start', attach };
