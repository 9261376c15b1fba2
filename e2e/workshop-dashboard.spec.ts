// The instructor dashboard at a glance: a workshop of simulated attendees (no hosts needed) at
// different steps, some stuck. Checks what the picture must say; saves it for the docs only with
// LABWRIGHT_SCREENSHOT=1.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { saveDocsScreenshot } from './docs-screenshot.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

let demo: ChildProcessWithoutNullStreams;
let dir: string;
let info: { url: string; workshopId: string };

test.beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-dash-demo-'));
  demo = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'workshop-demo.ts'), String(await freePort()), dir], { cwd: ROOT });
  info = await new Promise((resolve, reject) => {
    let out = '';
    demo.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { url: string; workshopId: string });
    });
    demo.once('exit', (code) => reject(new Error(`demo server exited (${code}): ${out}`)));
  });
});

test.afterAll(async () => {
  const exited = new Promise((resolve) => demo.once('exit', resolve));
  demo.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
});

test('the dashboard shows who is where and who is stuck, stuck first', async ({ browser }) => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${info.url}#/instructor`);
  await page.getByLabel('Instructor credential').fill('demo-instructor-credential');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('link', { name: 'Examining and working with etcd' })).toBeVisible();
  await page.getByRole('link', { name: 'Examining and working with etcd' }).click();
  await expect(page.locator('.dash-conn')).toHaveText('● live');
  const rows = page.locator('.grid .attendee');
  await expect(rows).toHaveCount(14);
  // Stuck attendees (long on a step, or many failed checks) come first and carry the flag.
  await expect(page.locator('.grid .attendee.stuck')).toHaveCount(3);
  for (let i = 0; i < 3; i++) await expect(rows.nth(i)).toHaveClass(/stuck/);
  await expect(rows.nth(3)).not.toHaveClass(/stuck/);
  await expect(page.locator('.dash-summary')).toContainText('3 stuck');
  await expect(page.locator('.attendee[data-name="Chen Wei"] .cell.done')).toHaveCount(7);
  await expect(page.locator('.attendee[data-name="Mateo Rossi"] .cell.current')).toHaveCount(1);
  // An attendee's last check results open with a click.
  await page.locator('.attendee[data-name="Emil Novák"]').click();
  await expect(page.locator('.detail-head h2')).toHaveText('Emil Novák');
  await expect(page.locator('.last-report')).toContainText('expected "Azure"');
  await saveDocsScreenshot(page, 'screenshot-dashboard.png');
  await page.close();
});
