// An attendee follows the etcd lab in real Chromium only by reading and clicking Run, doing what
// the text says between blocks (Ctrl-C to stop a watch): every step unlocks by itself, in order,
// without the Check or Skip buttons. (`labwright test --as-attendee` does the same for every lab
// without a browser; this proves the browser path: Run buttons, tabs, automatic re-checks.)
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

// Hosts for the lab are created when the page opens; then eight steps of typing (the last starts broken: its setup stops a member).
test.setTimeout(300_000);

let page: Page;

test.afterAll(async () => {
  await page.close();
});

test('the etcd lab, followed by clicking Run, unlocks every step by itself', async ({ browser }) => {
  // Tall enough that the longest output of a block (`systemctl cat etcd`) leaves its command on screen.
  page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  const lab = new LabDriver(page);
  await page.goto('./#/labs/etcd');
  for (const host of ['host0', 'host1', 'host2']) {
    await expect(lab.tab(host)).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  }
  const steps = await page.locator('.step').count();
  expect(steps).toBe(8);
  for (let i = 0; i < steps; i++) {
    const step = lab.step(i);
    await expect(step).toHaveAttribute('data-state', 'open');
    if (i + 1 < steps) await expect(lab.step(i + 1)).toHaveAttribute('data-state', 'locked');
    const blocks = step.locator('.run-block');
    const used = new Set<string>();
    for (let b = 0; b < (await blocks.count()); b++) {
      const block = blocks.nth(b);
      const button = block.locator('.run-button');
      const host = (await button.getAttribute('data-host')) ?? '';
      const code = (await block.locator('code').textContent()) ?? '';
      await button.click();
      await expect(lab.tab(host)).toHaveAttribute('aria-selected', 'true');
      // The block's last line shows in that host's terminal: it was typed there.
      const last = code.trim().split('\n').at(-1) ?? '';
      await expect(lab.screen(host)).toContainText(last.slice(0, 40));
      // A reader looks at the output before the next block (a watch gets time to start).
      await page.waitForTimeout(700);
      used.add(host);
    }
    await expect(step, `step ${i + 1} unlocks from its Run blocks alone`).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    // "Stop the watch with Ctrl-C": harmless at an idle prompt, so pressed wherever this step typed.
    for (const host of used) await lab.press(host, 'Control+C');
  }
  await expect(page.locator('.step[data-state="done"]')).toHaveCount(steps);
});
