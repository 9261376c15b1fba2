// The Cluster tab in Chromium against real hosts: the etcd lab's three hosts with their etcd
// members, the leader and the raft term, and a key the attendee puts with a lease appearing with
// its TTL — read by the server from the real cluster, never in the attendee's terminal.
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test('the Cluster tab draws the hosts, the etcd leader and term, and keys with their lease TTL as they change', async ({ page }) => {
  test.setTimeout(180_000);
  const lab = new LabDriver(page);
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.conn-status')).toHaveText('Server connected');
  await page.getByRole('tab', { name: 'Cluster' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Cluster' });
  await expect(panel.getByRole('heading', { name: 'Cluster' })).toBeVisible();

  const etcd = panel.getByRole('group', { name: 'etcd' });
  await expect(etcd).toContainText('3/3 members up', { timeout: 120_000 });
  await expect(etcd.locator('.cv-leader')).toHaveText(/^host[012]$/);
  await expect(etcd.locator('.cv-term')).toHaveText(/^[1-9][0-9]*$/);
  for (const host of ['host0', 'host1', 'host2']) {
    const card = panel.getByRole('article', { name: host });
    await expect(card).toContainText('up');
    await expect(card).toContainText(/etcd (leader|follower)/);
  }
  await expect(panel.getByText('read just now').or(panel.getByText(/read \d+ s ago/))).toBeVisible();

  // The attendee works in a terminal; the picture is current when they come back to it.
  await lab.typeInto('host0', 'etcdctl put --lease=$(etcdctl lease grant 120 | cut -d" " -f2) /cluster-tab-demo hello');
  await expect(lab.row('host0', /^OK/)).toBeVisible({ timeout: 30_000 });
  await page.getByRole('tab', { name: 'Cluster' }).click();
  const keys = panel.getByRole('region', { name: 'keys under /' });
  const row = keys.getByRole('row').filter({ hasText: '/cluster-tab-demo' });
  await expect(row).toContainText('hello', { timeout: 15_000 });
  await expect(row.locator('.cv-ttl')).toHaveText(/^([1-9]\d*) s$/);
});
