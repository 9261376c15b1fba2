// The etcd lab page in a real browser: steps rendered from the lab file, hints collapsed, later
// steps locked, Run buttons, one terminal tab per host, and a live WebSocket.
import { expect, test } from '@playwright/test';

test.beforeEach(async ({ page }) => {
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.lab-title')).toHaveText('Examining and working with etcd');
});

test('renders the intro and every step', async ({ page }) => {
  await expect(page.locator('.lab-intro')).toContainText('etcd is a distributed, consistent key-value store');
  const steps = page.locator('.step');
  await expect(steps.first().locator('.step-title')).toContainText('Check the health of the cluster');
  expect(await steps.count()).toBeGreaterThanOrEqual(5);
});

test('opens the first step and locks the second until the first is done', async ({ page }) => {
  const first = page.locator('.step[data-step="0"]');
  const second = page.locator('.step[data-step="1"]');
  await expect(first).toHaveAttribute('data-state', 'open');
  await expect(first.locator('.step-body')).toBeVisible();
  await expect(second).toHaveAttribute('data-state', 'locked');
  await expect(second.locator('.lock-note')).toHaveText('Locked — finish step 1 first.');
  await expect(second.locator('.step-body')).toBeHidden();
});

test('shows run blocks with a Run button for their host', async ({ page }) => {
  const run = page.locator('.step[data-step="0"] .run-block').first();
  await expect(run.locator('code')).toHaveText('etcdctl endpoint health --cluster');
  await expect(run.getByRole('button', { name: 'Run on host0' })).toBeVisible();
});

test('keeps hints collapsed until asked', async ({ page }) => {
  const hint = page.locator('.step[data-step="0"] details.hint').first();
  await expect(hint).not.toHaveAttribute('open');
  await expect(hint.locator('.prose')).toBeHidden();
  await hint.getByText('Show hint').click();
  await expect(hint).toHaveAttribute('open');
  await expect(hint.locator('.prose')).toBeVisible();
  await hint.getByText('Hide hint').click();
  await expect(hint).not.toHaveAttribute('open');
  await expect(hint.locator('summary')).toHaveText('Show hint');
});

test('shows one terminal tab per host, then the Cluster tab, and switches between them', async ({ page }) => {
  const tabs = page.getByRole('tab');
  await expect(tabs).toHaveText([/^host0/, /^host1/, /^host2/, 'Cluster']);
  await expect(page.locator('.term-mount[data-host="host0"]')).toBeVisible();
  await tabs.nth(2).click();
  await expect(page.locator('.term-mount[data-host="host2"]')).toBeVisible();
  await expect(page.locator('.term-mount[data-host="host0"]')).toBeHidden();
});

test('connects its WebSocket and answers the Check button in the step', async ({ page }) => {
  await expect(page.locator('.conn-status')).toHaveText('Server connected');
  const first = page.locator('.step[data-step="0"]');
  await first.getByRole('button', { name: 'Check' }).click();
  await expect(first.locator('.check-results')).not.toBeEmpty();
});

test('never sends checks or solutions to the browser', async ({ page }) => {
  const body = await page.evaluate(async () => (await fetch('api/labs/etcd')).text());
  expect(body).toContain('Check the health of the cluster');
  expect(body).not.toContain('"checks"');
  expect(body).not.toContain('"solves"');
});

test('says the hosts are starting above the terminals, and the line goes once they are ready', async ({ page }) => {
  test.setTimeout(300_000);
  // A fresh page's hosts take seconds to boot (no warm pool in the test server): the page says so.
  const line = page.locator('.host-start');
  await expect(line).toHaveText(/^Starting your hosts/);
  await expect(line).toHaveAttribute('role', 'status');
  await expect(line).toBeHidden({ timeout: 180_000 });
  await expect(page.getByRole('tab', { name: /^host0/ })).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
});
