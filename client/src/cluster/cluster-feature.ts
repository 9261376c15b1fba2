// The lab page's Cluster tab: beside the hosts' terminals, a live picture of the attendee's cluster
// read by the server. The page asks for snapshots only while the tab is open (`cluster-watch`).
import type { ClusterSnapshot } from '../../../common/cluster-view.ts';
import { h } from '../dom.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { renderSnapshot } from './cluster-view.ts';
import './cluster.css';

export const CLUSTER_PANEL_ID = 'cluster';

function ageText(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s <= 1 ? 'read just now' : `read ${s} s ago`;
}

export function attachCluster(page: LabPageHandle): () => void {
  const { socket, terminals } = page;
  const status = h('p', { class: 'cv-status', role: 'status' }, 'Reading the cluster…');
  const body = h('div', { class: 'cv-body' });
  const root = h('div', { class: 'cluster-view' }, h('div', { class: 'cv-top' }, h('h2', {}, 'Cluster'), status), body);
  let open = false;
  let last: ClusterSnapshot | undefined;

  const watch = (on: boolean): void => {
    open = on;
    socket.send({ type: 'cluster-watch', watch: on });
  };
  const removePanel = terminals.addPanel(CLUSTER_PANEL_ID, 'Cluster', root);
  const offSelect = terminals.onSelect((id) => {
    if ((id === CLUSTER_PANEL_ID) !== open) watch(id === CLUSTER_PANEL_ID);
  });
  // Snapshots stop at a reconnect: ask again on the new connection if the tab is open.
  const offStatus = socket.onStatus((s) => {
    if (s.state === 'open' && open) socket.send({ type: 'cluster-watch', watch: true });
  });
  // Until the hosts are ready there is no cluster to read: say what the page is waiting for.
  const offEnv = socket.on('env-status', (m) => {
    if (m.state === 'ready') {
      if (!last) status.textContent = 'Reading the cluster…';
      return;
    }
    last = undefined;
    body.replaceChildren();
    status.textContent = m.state === 'failed' ? `No cluster to show: ${m.message ?? 'your hosts could not be created'}` : 'Waiting for your hosts to start…';
  });
  const offView = socket.on('cluster-view', (m) => {
    last = m.snapshot;
    body.replaceChildren(...renderSnapshot(m.snapshot));
    status.textContent = ageText(m.snapshot.at, Date.now());
  });
  // The age line ticks between readings (and keeps growing if the server stops sending them).
  const ticker = setInterval(() => {
    if (open && last) status.textContent = ageText(last.at, Date.now());
  }, 1000);
  return () => {
    clearInterval(ticker);
    offView();
    offEnv();
    offStatus();
    offSelect();
    if (open) watch(false);
    removePanel();
  };
}

export const clusterFeature: LabPageFeature = { name: 'cluster', attach: attachCluster };
