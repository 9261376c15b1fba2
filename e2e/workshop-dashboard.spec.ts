// The instructor dashboard at a glance: a workshop of simulated attendees (no hosts needed) at
// different steps, some stuck. Checks what the picture must say; saves it for the docs only with
// LABWRIGHT_SCREENSHOT=1.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

test('the room at a glance: attendees per step, the checks failing most there, and the progress export', async ({ browser }) => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${info.url}#/instructor`);
  await page.getByLabel('Instructor credential').fill('demo-instructor-credential');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Examining and working with etcd' }).click();
  const glance = page.getByRole('region', { name: 'Room at a glance' });
  await expect(glance.getByRole('heading', { name: 'Room at a glance' })).toBeVisible();
  const cards = glance.getByRole('list', { name: 'Steps at a glance' }).getByRole('listitem');
  await expect(cards).toHaveCount(8);
  // Seeded: Amara, Fatima and Lena have done five steps (on step 6); Mateo is on step 1, failing key /example.
  await expect(cards.nth(5)).toContainText('3 here');
  await expect(cards.nth(0)).toContainText('1 here');
  await expect(cards.nth(0)).toContainText('Fails most: key /example (1)');
  await expect(cards.nth(1)).toContainText(/median \d+m/);
  await expect(cards.nth(7)).toContainText('nobody finished yet');

  const csvDownload = page.waitForEvent('download');
  await glance.getByRole('link', { name: 'CSV' }).click();
  const csv = await csvDownload;
  expect(csv.suggestedFilename()).toMatch(/^etcd-\d{4}-\d\d-\d\d-progress\.csv$/);
  const lines = (await readFile((await csv.path()) ?? '', 'utf8')).trim().split('\r\n');
  expect(lines[0]).toBe('attendee,attendeeId,step,stepId,stepTitle,state,doneAt,seconds,attempts,failedAttempts,replayed');
  expect(lines).toHaveLength(1 + 14 * 8);
  expect(lines.filter((l) => l.startsWith('Mateo Rossi,') && /,current,,,5,5,false$/.test(l))).toHaveLength(1);

  const jsonDownload = page.waitForEvent('download');
  await glance.getByRole('link', { name: 'JSON' }).click();
  const json = JSON.parse(await readFile((await (await jsonDownload).path()) ?? '', 'utf8')) as { rows: { attendee: string; state: string }[] };
  expect(json.rows.filter((r) => r.attendee === 'Chen Wei' && r.state === 'done')).toHaveLength(7);
  await page.close();
});
