// Regenerates docs/screenshot-lab.png (the README's picture of the etcd lab page): real hosts,
// terminals connected, real etcdctl output typed by the Run buttons and step 1's check passed.
// Skipped in normal runs so that `npm test` never rewrites a tracked file:
//   LABWRIGHT_SCREENSHOT=1 npx playwright test screenshot
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { docsScreenshotsWanted, saveDocsScreenshot } from './docs-screenshot.ts';

// Waits for the lab's three hosts (and their etcd cluster) to be created.
test.setTimeout(180_000);

const tab = (page: Page, host: string): Locator => page.locator(`.term-tab[data-host="${host}"]`);

test('screenshot of the etcd lab page', async ({ page }) => {
  test.skip(!docsScreenshotsWanted(), 'set LABWRIGHT_SCREENSHOT=1 to regenerate docs/screenshot-lab.png');
  await page.setViewportSize({ width: 1280, height: 800 });
  // The picture is taken at rest, not halfway through the "step done" animation.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.lab-title')).toBeVisible();
  await expect(page.locator('.conn-status')).toHaveText('Server connected');
  for (const host of ['host0', 'host1', 'host2']) {
    await expect(tab(page, host)).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  }
  const step1 = page.locator('.step[data-step="0"]');
  const screen = page.locator('.term-mount[data-host="host0"] .xterm-rows');
  const run = async (command: string, output: string | RegExp): Promise<void> => {
    const block = step1.locator('.run-block').filter({ has: page.locator('code', { hasText: command }) });
    await block.getByRole('button', { name: 'Run on host0' }).click();
    await expect(screen).toContainText(output, { timeout: 20_000 });
  };
  await run('etcdctl endpoint health --cluster', /is healthy[\s\S]*is healthy[\s\S]*is healthy/);
  await run('etcdctl put /workshop/members', 'OK');
  await expect(step1).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(step1.locator('.check-item[data-status="pass"]')).toContainText('etcd key /workshop/members is "3"');
  // Step 1's end (its last command and the check result) near the bottom of the lab pane.
  await step1.locator('.check-report').evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await page.locator('.lab-pane').evaluate((el) => el.scrollBy(0, 32));
  await page.mouse.move(0, 0);
  await saveDocsScreenshot(page, 'screenshot-lab.png');
});

test('screenshot of the Cluster tab', async ({ page }) => {
  test.skip(!docsScreenshotsWanted(), 'set LABWRIGHT_SCREENSHOT=1 to regenerate docs/screenshot-cluster.png');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.goto('./#/labs/etcd');
  for (const host of ['host0', 'host1', 'host2']) {
    await expect(tab(page, host)).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  }
  const screen = page.locator('.term-mount[data-host="host0"] .xterm-rows');
  await tab(page, 'host0').click();
  await page.locator('.term-mount[data-host="host0"] .xterm').click();
  await page.keyboard.type('L=$(etcdctl lease grant 90 | cut -d" " -f2); etcdctl put --lease=$L /foo-service/container1 10.10.10.1:8080; etcdctl put /message Hello; echo done');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText(/OK\s*OK\s*done/, { timeout: 20_000 });
  await page.getByRole('tab', { name: 'Cluster' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Cluster' });
  await expect(panel.getByRole('group', { name: 'etcd' })).toContainText('3/3 members up', { timeout: 60_000 });
  await expect(panel.getByRole('row').filter({ hasText: '/foo-service/container1' })).toBeVisible({ timeout: 15_000 });
  await page.mouse.move(0, 0);
  await saveDocsScreenshot(page, 'screenshot-cluster.png');
});
