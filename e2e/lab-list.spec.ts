// The lab list in a real browser: working labs with their facts, broken labs with file:line problems.
import { expect, test } from '@playwright/test';

test('lists the labs with their facts', async ({ page }) => {
  await page.goto('./');
  const etcd = page.locator('.lab-card[data-lab="etcd"]');
  await expect(etcd.getByRole('heading')).toHaveText('Examining and working with etcd');
  await expect(etcd).toContainText('20 min');
  await expect(etcd).toContainText('3 hosts');
  await expect(etcd).toContainText(/\d+ steps/);
});

test('lists a broken lab with its lint errors, file and line', async ({ page }) => {
  await page.goto('./');
  const broken = page.locator('.lab-card[data-lab="e2e-broken"]');
  await expect(broken).toContainText('Broken');
  await expect(broken.locator('.problem')).toHaveCount(2);
  await expect(broken.locator('.problem').nth(0)).toContainText(/e2e-broken\/lab\.md:9\b.*unknown block kind/);
  await expect(broken.locator('.problem').nth(1)).toContainText(/e2e-broken\/lab\.md:13\b.*host7/);
  // A broken lab has no link to open it.
  await expect(broken.locator('a')).toHaveCount(0);
  // The working labs are still listed and open.
  await expect(page.getByRole('link', { name: 'Examining and working with etcd' })).toBeVisible();
});

test('lists the lab parser’s broken fixture with every problem located', async ({ page }) => {
  await page.goto('./');
  const problems = page.locator('.lab-card[data-lab="broken-demo"] .problem');
  expect(await problems.count()).toBeGreaterThan(1);
  for (const text of await problems.allTextContents()) expect(text).toMatch(/broken-demo\/lab\.md:\d+ \S/);
});

test('opens a lab from the list', async ({ page }) => {
  await page.goto('./');
  await page.getByRole('link', { name: 'Examining and working with etcd' }).click();
  await expect(page).toHaveURL(/#\/labs\/etcd$/);
  await expect(page.locator('.lab-title')).toHaveText('Examining and working with etcd');
});
