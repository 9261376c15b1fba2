// A check with a `description:` shows that description (as text) in the attendee's results, with
// the per-host facts below it — never the check's shell command or its regex.
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test.setTimeout(180_000);

test('a described check shows its description and per-host result, not its command or regex', async ({ browser }) => {
  const page = await browser.newPage();
  const lab = new LabDriver(page);
  await page.goto('./#/labs/described-check');
  await expect(lab.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  const step = lab.step(0);
  await step.locator('.check-button').click();
  const item = step.locator('.check-item.check-described');
  await expect(item).toHaveAttribute('data-status', 'fail', { timeout: 20_000 });
  // The description is text: the lab's <b> is shown as written, not as bold.
  await expect(item.locator('.check-title')).toHaveText('the marker file says <b>ready</b>');
  await expect(item.locator('b')).toHaveCount(0);
  await expect(item.locator('.check-hosts .check-item[data-status="fail"]')).toContainText('host0: exit 1 and no output, expected exit 0 and output matching the expected pattern');
  const report = step.locator('.check-report');
  await expect(report).not.toContainText('described-marker');
  await expect(report).not.toContainText('rea[d]y');
  await expect(report.locator('[title*="described-marker"], [title*="rea[d]y"]')).toHaveCount(0);

  await step.getByRole('button', { name: 'Run on host0' }).click();
  await expect(step).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(step.locator('.check-item.check-described')).toHaveAttribute('data-status', 'pass');
  await expect(step.locator('.check-item.check-described .check-hosts')).toContainText('host0: exit 0 and matching output');
  await expect(step.locator('.check-report')).not.toContainText('described-marker');
  await page.close();
});
