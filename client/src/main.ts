// Browser entry point: mounts the page for the current hash route and swaps it on navigation.
import './styles.css';
import { checksFeature } from './checks/checks-feature.ts';
import { clusterFeature } from './cluster/cluster-feature.ts';
import { h } from './dom.ts';
import { registerLabPageFeature } from './lab-page-features.ts';
import type { Page } from './page.ts';
import { labListPage } from './pages/lab-list-page.ts';
import { labPage } from './pages/lab-page.ts';
import { listHref, parseRoute } from './router.ts';
import { setupFeature } from './setup/setup-feature.ts';
import { stepResetFeature } from './step-reset/step-reset-feature.ts';
import { terminalFeature } from './terminal/terminal-feature.ts';
import { previewsFeature } from './previews/previews-feature.ts';
import { faultNoticeFeature } from './faults/fault-notice-feature.ts';
import { helpFeature } from './help/help-feature.ts';
import { dashboardPage } from './dashboard/dashboard-page.ts';
import { instructorPage } from './dashboard/instructor-page.ts';
import { parseWorkshopRoute } from './dashboard/workshop-routes.ts';
import type { WorkshopRoute } from './dashboard/workshop-routes.ts';
import { joinPage } from './join/join-page.ts';
import { hostStartFeature } from './hosts/host-start-feature.ts';

registerLabPageFeature(hostStartFeature);
registerLabPageFeature(terminalFeature);
registerLabPageFeature(checksFeature);
registerLabPageFeature(previewsFeature);
registerLabPageFeature(setupFeature);
registerLabPageFeature(stepResetFeature);
registerLabPageFeature(clusterFeature);
registerLabPageFeature(faultNoticeFeature);
registerLabPageFeature(helpFeature);

const app = document.getElementById('app');
let current: Page | undefined;

function notFound(): Page {
  return {
    root: h('main', { class: 'catalogue' }, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: listHref }, '← All labs'))),
    dispose: () => undefined,
  };
}

function workshopPage(r: WorkshopRoute): Page {
  switch (r.page) {
    case 'join':
      return joinPage(r.token);
    case 'instructor':
      return instructorPage();
    case 'dashboard':
      return dashboardPage(r.workshopId);
  }
}

function show(): void {
  if (!app) return;
  current?.dispose();
  const workshop = parseWorkshopRoute(location.hash);
  const route = workshop ?? parseRoute(location.hash);
  document.title = 'Labwright';
  current = workshop ? workshopPage(workshop) : route.page === 'list' ? labListPage() : route.page === 'lab' ? labPage(route.labId) : notFound();
  app.replaceChildren(
    h('header', { class: 'app-bar' }, h('a', { class: 'brand', href: listHref }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Labwright')),
    current.root,
  );
  app.dataset.page = route.page;
}

window.addEventListener('hashchange', show);
show();
