// Draws one cluster snapshot: etcd (leader, raft term, members), a card per host (reachable, its
// etcd role and overlay lease, the lab's units and containers with their state), then the keys
// under the lab's prefixes with lease TTLs. Text only: every value goes in as a text node.
import type { ClusterHostView, ClusterSnapshot, EtcdClusterView, OverlayView, PrefixView } from '../../../common/cluster-view.ts';
import { h } from '../dom.ts';

type Tone = 'ok' | 'bad' | 'warn' | 'idle';

const pill = (text: string, tone: Tone, label?: string): HTMLElement => h('span', { class: `cv-pill cv-${tone}`, ...(label ? { 'aria-label': label } : {}) }, text);

const unitTone = (active: string): Tone => (active === 'active' ? 'ok' : active === 'failed' ? 'bad' : active === 'activating' || active === 'deactivating' || active === 'reloading' ? 'warn' : 'idle');
const containerTone = (state: string): Tone => (state === 'running' ? 'ok' : state === 'restarting' || state === 'paused' ? 'warn' : state === 'dead' ? 'bad' : 'idle');
const ttlText = (ttl: number | null): string => (ttl === null ? '—' : `${ttl} s`);

function etcdSummary(e: EtcdClusterView): HTMLElement {
  const up = e.members.filter((m) => m.up).length;
  const quorum = Math.floor(e.members.length / 2) + 1;
  const healthy = e.members.length > 0 && up >= quorum;
  return h(
    'div',
    { class: 'cv-etcd', role: 'group', 'aria-label': 'etcd' },
    h('strong', {}, 'etcd'),
    e.error && e.members.length === 0 ? pill(e.error, 'bad') : pill(`${up}/${e.members.length} members up`, healthy ? 'ok' : 'bad'),
    e.members.length > 0 && !healthy ? pill('no quorum', 'bad') : null,
    h('span', { class: 'cv-fact' }, 'leader ', h('b', { class: 'cv-leader' }, e.leader ?? 'none')),
    h('span', { class: 'cv-fact' }, 'raft term ', h('b', { class: 'cv-term' }, e.raftTerm === null ? '—' : String(e.raftTerm))),
  );
}

function hostCard(hv: ClusterHostView, snap: ClusterSnapshot): HTMLElement {
  const member = snap.etcd?.members.find((m) => m.host === hv.name);
  const lease = snap.overlay?.leases.find((l) => l.host === hv.name);
  return h(
    'article',
    { class: `cv-host${hv.reachable ? '' : ' cv-down'}`, 'aria-label': hv.name, 'data-host': hv.name },
    h(
      'header',
      { class: 'cv-host-head' },
      h('h3', {}, hv.name),
      hv.reachable ? pill('up', 'ok') : pill('unreachable', 'bad'),
      member ? (member.leader ? pill('etcd leader', 'ok') : member.up ? pill('etcd follower', 'idle') : pill('etcd down', 'bad')) : null,
      lease ? h('span', { class: 'cv-lease' }, lease.subnet) : null,
    ),
    hv.error ? h('p', { class: 'cv-error' }, hv.error) : null,
    hv.units.length > 0
      ? h('ul', { class: 'cv-list', 'aria-label': `units on ${hv.name}` }, ...hv.units.map((u) => h('li', {}, h('span', { class: 'cv-name' }, u.name), pill(u.active === u.sub || u.sub === '' ? u.active : `${u.active} (${u.sub})`, unitTone(u.active)))))
      : null,
    hv.containers.length > 0
      ? h(
          'ul',
          { class: 'cv-list', 'aria-label': `containers on ${hv.name}` },
          ...hv.containers.map((c) => h('li', {}, h('span', { class: 'cv-name' }, c.name), h('span', { class: 'cv-image' }, c.image), pill(c.state, containerTone(c.state), c.status))),
        )
      : null,
  );
}

function prefixTable(p: PrefixView): HTMLElement {
  return h(
    'section',
    { class: 'cv-keys', 'aria-label': `keys under ${p.prefix}` },
    h('h3', {}, 'Keys under ', h('code', {}, p.prefix)),
    p.error ? h('p', { class: 'cv-error' }, p.error) : null,
    !p.error && p.keys.length === 0 ? h('p', { class: 'cv-empty' }, 'no keys') : null,
    p.keys.length > 0
      ? h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'value'), h('th', {}, 'lease TTL'))),
          h('tbody', {}, ...p.keys.map((k) => h('tr', {}, h('td', {}, h('code', {}, k.key)), h('td', {}, h('code', {}, k.value)), h('td', { class: 'cv-ttl' }, ttlText(k.ttl))))),
        )
      : null,
    p.truncated ? h('p', { class: 'cv-empty' }, 'more keys not shown') : null,
  );
}

function overlaySection(o: OverlayView): HTMLElement {
  return h(
    'section',
    { class: 'cv-keys', 'aria-label': 'overlay leases' },
    h('h3', {}, 'Overlay ', h('code', {}, o.prefix), o.network ? h('span', { class: 'cv-fact' }, ` network ${o.network}`) : null),
    o.error ? h('p', { class: 'cv-error' }, o.error) : null,
    !o.error && o.network === null ? h('p', { class: 'cv-empty' }, 'no network config yet') : null,
    o.leases.length > 0
      ? h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'subnet'), h('th', {}, 'host'), h('th', {}, 'lease TTL'))),
          h('tbody', {}, ...o.leases.map((l) => h('tr', {}, h('td', {}, h('code', {}, l.subnet)), h('td', {}, l.host ?? '?'), h('td', { class: 'cv-ttl' }, ttlText(l.ttl))))),
        )
      : null,
  );
}

export function renderSnapshot(snap: ClusterSnapshot): HTMLElement[] {
  return [
    ...(snap.etcd ? [etcdSummary(snap.etcd)] : []),
    h('div', { class: 'cv-hosts' }, ...snap.hosts.map((hv) => hostCard(hv, snap))),
    ...(snap.overlay ? [overlaySection(snap.overlay)] : []),
    ...snap.prefixes.map(prefixTable),
  ];
}
