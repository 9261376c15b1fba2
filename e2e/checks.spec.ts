// Checks and gating in real Chromium against real lab hosts (etcd lab): step 2 starts locked; a
// wrong value typed in a terminal shows expected vs actual; the right one unlocks step 2 with no
// button pressed (automatic re-check); Check shows results on demand; Skip types the solution.
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test.describe.configure({ mode: 'serial' });
// The first test waits for the lab's three hosts (and their etcd cluster) to be created.
test.setTimeout(180_000);

let page: Page;
let lab: LabDriver;
const step = (i: number): Locator => lab.step(i);
const tab = (host: string): Locator => lab.tab(host);
const typeInto = (host: string, text: string): Promise<void> => lab.typeInto(host, text);

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  lab = new LabDriver(page);
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.lab-title')).toHaveText('Examining and working with etcd');
});

test.afterAll(async () => {
  await page.close();
});

test('step 2 is locked until step 1 passes', async () => {
  await expect(tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  await expect(step(0)).toHaveAttribute('data-state', 'open');
  await expect(step(1)).toHaveAttribute('data-state', 'locked');
  await expect(step(1).locator('.check-button')).toBeHidden();
});

// Step 1's check compares the key with this cluster's own member list: a typed count does not pass.
const MEMBERS_CHECK = "/workshop/members holds this cluster's member list";

test('a wrong value shows the failing check on its host', async () => {
  await typeInto('host0', 'etcdctl put /workshop/members 3');
  // A described check: its title, then one line per host with expected vs actual.
  const fail = step(0).locator('.check-item.check-described[data-status="fail"]');
  await expect(fail).toContainText(MEMBERS_CHECK, { timeout: 30_000 });
  await expect(step(0).locator('.check-item:not(.check-described)[data-status="fail"]')).toContainText('host0');
  await expect(step(1)).toHaveAttribute('data-state', 'locked');
});

test('the right value unlocks step 2 without pressing anything', async () => {
  await typeInto('host0', 'etcdctl put /workshop/members "$(etcdctl member list)"');
  await expect(step(0)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(step(1)).toHaveAttribute('data-state', 'open');
  await expect(step(0).locator('.check-item.check-described[data-status="pass"]')).toContainText(MEMBERS_CHECK);
  await expect(step(2)).toHaveAttribute('data-state', 'locked');
});

test('the Check button shows the current results on demand', async () => {
  await step(1).locator('.check-button').click();
  await expect(step(1).locator('.check-report')).toContainText(/Checked at/, { timeout: 15_000 });
  await expect(step(1).locator('.check-item[data-status="fail"]')).toContainText('etcd key /message is absent, expected "Hello"');
});

test('progress survives a reload', async () => {
  await page.reload();
  await expect(step(0)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(step(1)).toHaveAttribute('data-state', 'open');
});

test('Skip types the solution into the terminal and marks the step done', async () => {
  await expect(tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  page.once('dialog', (d) => void d.accept());
  await step(1).getByRole('button', { name: 'Skip step' }).click();
  await expect(step(1)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(step(2)).toHaveAttribute('data-state', 'open');
  await expect(page.locator('.term-mount[data-host="host0"] .xterm-rows')).toContainText('etcdctl put /message Hello');
  // Only the solution shows in the terminal, no plumbing of the server's.
  await expect(page.locator('.term-mount[data-host="host0"] .xterm-rows')).not.toContainText('tmux');
});
