// Author live preview: editing a lab file on disk updates an open page without a reload.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { e2eLabsDir } from './e2e-env.ts';

test('an edit to the lab file re-renders the open lab page in place', async ({ page }) => {
  // The server's temporary copy of the labs, never labs/ itself.
  const file = path.join(e2eLabsDir(), 'live-edit', 'lab.md');
  const original = readFileSync(file, 'utf8');
  try {
    await page.goto('./#/labs/live-edit');
    await expect(page.locator('.step[data-step="0"] .step-title')).toContainText('Original first step');
    await expect(page.locator('.conn-status')).toHaveText('Server connected');
    // Survives only if the page is not reloaded.
    await page.evaluate(() => ((window as unknown as { __notReloaded?: boolean }).__notReloaded = true));

    writeFileSync(file, original.replace('Original first step', 'Edited first step').replace('Original intro.', 'Edited intro.'));
    await expect(page.locator('.step[data-step="0"] .step-title')).toContainText('Edited first step');
    await expect(page.locator('.lab-intro')).toContainText('Edited intro.');
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(true);

    // A broken edit keeps the last good version on screen and says why.
    writeFileSync(file, original.replace('```run host0', '```run host9'));
    await expect(page.locator('.banner')).toContainText('cannot be loaded');
    await expect(page.locator('.step[data-step="0"] .step-title')).toContainText('Edited first step');

    writeFileSync(file, original);
    await expect(page.locator('.step[data-step="0"] .step-title')).toContainText('Original first step');
    await expect(page.locator('.banner')).toBeHidden();
  } finally {
    writeFileSync(file, original);
  }
});
