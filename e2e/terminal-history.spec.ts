// Terminals that keep their history, in real Chromium against a real lab host: the scrollback is
// there after a reload (not only the last screen), and a Run button aimed at a terminal where a
// program still runs asks first, then interrupts it and runs the command.
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test.describe.configure({ mode: 'serial' });
// The first test waits for the lab's host to be created.
test.setTimeout(180_000);

let page: Page;
let lab: LabDriver;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  lab = new LabDriver(page);
  await page.goto('./#/labs/busy-terminal');
  await expect(page.locator('.lab-title')).toHaveText('A terminal that keeps its history');
});

test.afterAll(async () => {
  await page.close();
});

/** Scrolls the host's terminal up with the mouse wheel (xterm moves a few rows a notch) until `re` is a row on screen. */
async function scrollUpTo(host: string, re: RegExp): Promise<void> {
  const box = await page.locator(`.term-mount[data-host="${host}"] .xterm`).boundingBox();
  if (!box) throw new Error('terminal not visible');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(async () => {
    for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -100);
    await expect(lab.row(host, re)).toHaveCount(1, { timeout: 200 });
  }).toPass({ timeout: 30_000 });
}

test('after a reload the terminal still has the scrollback above its screen', async () => {
  await expect(lab.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  await lab.typeInto('host0', "for i in $(seq 1 300); do printf 'numbered-%03d\\n' $i; done; echo printed-$((40+2))");
  await expect(lab.row('host0', /^printed-42\s*$/)).toHaveCount(1, { timeout: 20_000 });
  await page.reload();
  await expect(lab.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await expect(lab.row('host0', /^printed-42\s*$/)).toHaveCount(1);
  // Line 1 scrolled off a 20-odd-row screen long ago: it is in the scrollback once, not twice.
  await scrollUpTo('host0', /^numbered-001\s*$/);
  await expect(lab.row('host0', /^numbered-002\s*$/)).toHaveCount(1);
});

test('a Run button aimed at a busy terminal asks first; Cancel types nothing, "Interrupt and run" runs it', async () => {
  const step = lab.step(0);
  const runEcho = step.locator('.run-block').nth(1).getByRole('button', { name: 'Run on host0' });
  const dialog = page.getByRole('alertdialog', { name: "host0's terminal is busy" });
  await lab.typeInto('host0', 'clear; sleep 600');
  await runEcho.click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('busy running sleep');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(lab.screen('host0')).not.toContainText('ran-after');

  // A watch started from the lab's own Run button (the terminal was idle again: no question).
  await lab.press('host0', 'Control+C');
  await step.locator('.run-block').nth(0).getByRole('button', { name: 'Run on host0' }).click();
  await expect(dialog).toBeHidden();
  await expect(lab.screen('host0')).toContainText('Every 1.0s', { timeout: 15_000 });
  await runEcho.click();
  await expect(dialog).toContainText('busy running watch');
  await dialog.getByRole('button', { name: 'Interrupt and run' }).click();
  await expect(dialog).toBeHidden({ timeout: 15_000 });
  await expect(lab.row('host0', /^ran-after-42\s*$/)).toHaveCount(1, { timeout: 15_000 });
});
