// Catch-up end to end, in real Chromium against `labwright serve` and a real host: the attendee does
// step 1 herself; the instructor catches her up to step 3 (step 2's solution replayed on her host);
// her page and the dashboard say which steps were replayed; a solution that fails stops a catch-up
// of the whole room at that step, and the dashboard says why.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';

test.setTimeout(300_000);

const ROOT = path.resolve(import.meta.dirname, '..');
const TOKEN = 'e2e-instructor-credential-catch-up-0123';
const LAB = `---
title: Catch-up drill
summary: Three steps on one host; the last one's solution is broken on purpose.
hosts: [host0]
---
## Leave a marker

\`\`\`run host0
touch /tmp/one
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/one }
\`\`\`

\`\`\`solve host0
touch /tmp/one
\`\`\`

## Write a greeting

\`\`\`run host0
echo hello-from-catch-up > /tmp/two
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/two, contains: hello-from-catch-up }
\`\`\`

\`\`\`solve host0
echo hello-from-catch-up > /tmp/two
\`\`\`

## Sign off

\`\`\`run host0
echo bye > /tmp/three
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/three, contains: bye }
\`\`\`

\`\`\`solve host0
cat /tmp/no-such-file > /tmp/three
\`\`\`
`;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

let dir: string;
let base: string;
let server: ChildProcessWithoutNullStreams;
const contexts: BrowserContext[] = [];
let instructor: Page | undefined;

test.beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-catch-up-e2e-'));
  mkdirSync(path.join(dir, 'labs', 'catch-up-drill'), { recursive: true });
  writeFileSync(path.join(dir, 'labs', 'catch-up-drill', 'lab.md'), LAB);
  const port = await freePort();
  base = `http://127.0.0.1:${port}/lw/`;
  server = spawn(process.execPath, [path.join(ROOT, 'bin', 'labwright.mjs'), 'serve', '--port', String(port), '--labs', path.join(dir, 'labs'), '--base-path', '/lw/'], {
    cwd: ROOT,
    env: { ...process.env, LABWRIGHT_DATA_DIR: path.join(dir, 'data'), LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN, LABWRIGHT_LOG_LEVEL: 'warn' },
  });
  server.stderr.on('data', (d: Buffer) => process.stderr.write(`[serve] ${d.toString()}`));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Open http')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`labwright serve exited (${code}):\n${out}`)));
  });
});

test.afterAll(async () => {
  const id = /#\/instructor\/workshops\/([\w-]+)/.exec(instructor?.url() ?? '')?.[1];
  if (id && server.exitCode === null) await instructor?.context().request.post(`${base}api/workshops/${id}/end`).catch(() => undefined);
  for (const c of contexts) await c.close();
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the instructor catches an attendee up: steps replayed on her host and marked so; a failing solution stops a room catch-up, saying why', async ({ browser }) => {
  const newPage = async (): Promise<Page> => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(ctx);
    return ctx.newPage();
  };
  instructor = await newPage();
  const teacher = instructor;
  teacher.on('dialog', (d) => void d.accept());
  await teacher.goto(`${base}#/instructor`);
  await teacher.getByLabel('Instructor credential').fill(TOKEN);
  await teacher.getByRole('button', { name: 'Log in' }).click();
  await teacher.getByRole('button', { name: 'Create workshop' }).click();
  await expect(teacher.locator('.dash-conn')).toHaveText('● live');
  const joinUrl = await teacher.locator('.join-link').inputValue();

  const ada = await newPage();
  await ada.goto(joinUrl);
  await ada.getByLabel('Your name').fill('Ada');
  await ada.getByRole('button', { name: 'Join' }).click();
  await expect(ada.locator('.term-tab[data-host="host0"]')).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });

  // Ada does step 1 herself.
  await ada.locator('.term-mount[data-host="host0"] .xterm').click();
  await ada.keyboard.type('touch /tmp/one');
  await ada.keyboard.press('Enter');
  await ada.locator('.step[data-step="0"]').getByRole('button', { name: 'Check' }).click();
  await expect(ada.locator('.step[data-step="0"] .step-status')).toHaveText('Done', { timeout: 30_000 });

  // The instructor catches her up to step 3: step 2's solution runs on her host.
  await teacher.locator('.grid .attendee[data-name="Ada"]').click();
  const detail = teacher.getByRole('group', { name: 'Catch up' });
  await detail.getByLabel('Catch Ada up to step').selectOption({ label: '3. Sign off' });
  await detail.getByRole('button', { name: 'Catch up' }).click();
  await expect(teacher.locator('.form-message')).toHaveText('Catching up Ada.');
  await expect(teacher.locator('.catch-up-status')).toHaveText('Caught up to step 3.', { timeout: 60_000 });
  await expect(teacher.locator('.attendee[data-name="Ada"] .cell[data-step="1"]')).toHaveClass(/replayed/);
  await expect(teacher.locator('.attendee[data-name="Ada"] .cell[data-step="0"]')).not.toHaveClass(/replayed/);

  // Her page: step 1 done by her, step 2 replayed, step 3 open; the file is really on her host.
  await expect(ada.locator('.step[data-step="1"] .step-status')).toHaveText('Done — replayed by your instructor');
  await expect(ada.locator('.step[data-step="0"] .step-status')).toHaveText('Done');
  await expect(ada.locator('.step[data-step="2"]')).toHaveAttribute('data-state', 'open');
  await ada.locator('.term-mount[data-host="host0"] .xterm').click();
  await ada.keyboard.type('cat /tmp/two');
  await ada.keyboard.press('Enter');
  await expect(ada.locator('.term-mount[data-host="host0"] .xterm-rows')).toContainText('hello-from-catch-up');

  // The whole room to the end: step 3's solution is broken, so it stops there and says why.
  const room = teacher.getByRole('group', { name: 'Catch everyone up' });
  await room.getByLabel('Catch everyone up to step').selectOption({ label: 'the end (every step done)' });
  await room.getByRole('button', { name: 'Catch up everyone' }).click();
  await expect(teacher.locator('.catch-up-status')).toContainText('Catch-up stopped at step 3: its solution failed on host0', { timeout: 60_000 });
  await expect(ada.locator('.step[data-step="2"] .step-status')).toHaveText('');

  // The export tells replayed steps from the attendee's own.
  const csv = await teacher.context().request.get(`${base}api/workshops/${/workshops\/([\w-]+)/.exec(teacher.url())?.[1] ?? ''}/export?format=csv`);
  const rows = (await csv.text()).trim().split('\r\n');
  expect(rows.filter((r) => r.startsWith('Ada,')).map((r) => r.split(',').slice(2, 3).concat(r.split(',').slice(-1)))).toEqual([
    ['1', 'false'],
    ['2', 'true'],
    ['3', 'false'],
  ]);
});
