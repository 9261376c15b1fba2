// Terminals in real Chromium against real lab hosts: typing into a host's tab, Run buttons,
// re-attaching after a reload, and a flood of output that Ctrl-C stops.
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';

test.describe.configure({ mode: 'serial' });
// The first test waits for the lab's three hosts (and their etcd cluster) to be created.
test.setTimeout(180_000);

let page: Page;
let lab: LabDriver;
const tab = (host: string): Locator => lab.tab(host);
const screen = (host: string): Locator => lab.screen(host);
const row = (host: string, re: RegExp): Locator => lab.row(host, re);
const typeInto = (host: string, text: string): Promise<void> => lab.typeInto(host, text);

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  lab = new LabDriver(page);
  await page.goto('./#/labs/etcd');
  await expect(page.locator('.lab-title')).toHaveText('Examining and working with etcd');
});

test.afterAll(async () => {
  await page.close();
});

test('shows one connected terminal tab per host', async () => {
  for (const host of ['host0', 'host1', 'host2']) {
    await expect(tab(host)).toHaveAttribute('data-state', 'connected', { timeout: 150_000 });
  }
});

test('runs hostname in host1 tab and shows host1', async () => {
  await typeInto('host1', 'hostname');
  // The command's output is a row of its own, below the prompt the command was typed at.
  await expect(row('host1', /^\s*host1\s*$/).first()).toBeAttached();
  await expect(screen('host0')).not.toContainText('hostname');
});

test('a Run button types its command into the right tab and the output shows there', async () => {
  await tab('host2').click();
  const run = page.locator('.step[data-step="0"] .run-block').first();
  await expect(run.locator('code')).toHaveText('etcdctl endpoint health --cluster');
  await run.getByRole('button', { name: 'Run on host0' }).click();
  await expect(tab('host0')).toHaveAttribute('aria-selected', 'true');
  await expect(screen('host0')).toContainText('etcdctl endpoint health --cluster');
  await expect(screen('host0')).toContainText('is healthy', { timeout: 20_000 });
  await expect(screen('host2')).not.toContainText('is healthy');
});

test('after a reload the terminals re-attach and the earlier output is still there', async () => {
  await page.reload();
  await expect(tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await expect(screen('host0')).toContainText('is healthy');
  await tab('host1').click();
  await expect(tab('host1')).toHaveAttribute('data-state', 'connected');
  await expect(screen('host1')).toContainText('hostname');
});

test('cat of a big file keeps the tab responsive and Ctrl-C brings the prompt back', async () => {
  await typeInto('host1', 'head -c 60000000 /dev/zero | tr "\\0" "z" | fold -w 100 > /tmp/big.txt; ls -l /tmp/big.txt');
  await expect(screen('host1')).toContainText('/tmp/big.txt', { timeout: 30_000 });
  await typeInto('host1', 'cat /tmp/big.txt');
  await expect(screen('host1')).toContainText('zzzzzzzzzzzzzzzzzzzz');
  await page.keyboard.press('Control+C');
  await page.keyboard.type('clear; echo prompt-is-$((40+2))');
  await page.keyboard.press('Enter');
  await expect(screen('host1')).toContainText('prompt-is-42', { timeout: 15_000 });
});
