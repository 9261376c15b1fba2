// Regenerates docs/screenshot-lab.png (the README's picture of the etcd lab page). Skipped in
// normal runs so that `npm test` never rewrites a tracked file: LABWRIGHT_SCREENSHOT=1 npx playwright test screenshot
import { expect, test } from '@playwright/test';
import { docsScreenshotsWanted, saveDocsScreenshot } from './docs-screenshot.ts';

test('screenshot of the etcd lab page', async ({ page }) => {
  test.skip(!docsScreenshotsWanted(), 'set LABWRIGHT_SCREENSHOT=1 to regenerate docs/screenshot-lab.png');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.lab-title')).toBeVisible();
  await expect(page.locator('.conn-status')).toHaveText('Connected');
  await page.locator('.lab-pane').evaluate((el) => el.scrollTo(0, 0));
  await saveDocsScreenshot(page, 'screenshot-lab.png');
});
