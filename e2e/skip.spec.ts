// "Skip step" whose typed solution clashes with what the attendee already did: the step stays
// open, and the page says that the solution ran but the checks still fail, above the results.
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test.setTimeout(180_000);

test('a skip that does not get the step done says so, and the step stays open', async ({ browser }) => {
  const page = await browser.newPage();
  const lab = new LabDriver(page);
  await page.goto('./#/labs/skip-clash');
  await expect(lab.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  const step = lab.step(0);
  // Half of the work, by hand: the folder exists, so the solution's `mkdir` fails.
  await step.getByRole('button', { name: 'Run on host0' }).click();
  await expect(lab.screen('host0')).toContainText('mkdir /tmp/made');
  page.once('dialog', (d) => void d.accept());
  await step.getByRole('button', { name: 'Skip step' }).click();
  await expect(step.locator('.check-note')).toContainText('The solution was typed into your terminals, but these checks still fail', { timeout: 60_000 });
  await expect(step.locator('.check-item[data-status="fail"]')).toContainText('file /tmp/made/ok is absent');
  await expect(step.locator('.check-summary')).toContainText('1 of 1 check not passing yet');
  await expect(step).toHaveAttribute('data-state', 'open');
  await expect(lab.screen('host0')).toContainText('File exists');
  await page.close();
});
