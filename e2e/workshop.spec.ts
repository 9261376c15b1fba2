// Workshop mode end to end, in real Chromium against `labwright serve` (its own process, data
// dir and lab) and real hosts: an instructor and two attendees in separate browser contexts,
// the live grid, a read-only mirror, refused cross-attendee access, and kill -9 of the server.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { saveDocsScreenshot } from './docs-screenshot.ts';

test.describe.configure({ mode: 'serial' });
test.setTimeout(300_000);

const ROOT = path.resolve(import.meta.dirname, '..');
const TOKEN = 'e2e-instructor-credential-0123456789';
const LAB = `---
title: Workshop drill
summary: Three quick steps on one host, for the workshop end-to-end test.
hosts: [host0]
---
Follow the steps on host0.

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
echo hello > /tmp/two
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/two, contains: hello }
\`\`\`

\`\`\`solve host0
echo hello > /tmp/two
\`\`\`

## Sign off

\`\`\`run host0
echo bye > /tmp/three
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/three, contains: bye }
\`\`\`

\`\`\`solve host0
echo bye > /tmp/three
\`\`\`
`;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

/** `labwright serve` as a child process; resolves once it prints its URL. */
function serve(port: number, dir: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'labwright.mjs'), 'serve', '--port', String(port), '--labs', path.join(dir, 'labs'), '--base-path', '/lw/'], {
    cwd: ROOT,
    env: { ...process.env, LABWRIGHT_DATA_DIR: path.join(dir, 'data'), LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN, LABWRIGHT_LOG_LEVEL: 'warn' },
  });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`[serve] ${d.toString()}`));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Open http')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`labwright serve exited (${code}) before listening:\n${out}`)));
  });
}

let dir: string;
let port: number;
let base: string;
let server: ChildProcessWithoutNullStreams;
let contexts: BrowserContext[] = [];
let instructor: Page;
let ada: Page;
let bob: Page;

const tab = (p: Page): Locator => p.locator('.term-tab[data-host="host0"]');
const screen = (p: Page): Locator => p.locator('.term-mount[data-host="host0"] .xterm-rows');
const step = (p: Page, i: number): Locator => p.locator(`.step[data-step="${i}"]`);
const gridRow = (name: string): Locator => instructor.locator(`.grid .attendee[data-name="${name}"]`);
const cell = (name: string, i: number): Locator => gridRow(name).locator(`.cell[data-step="${i}"]`);

async function type(p: Page, text: string): Promise<void> {
  await p.locator('.term-mount[data-host="host0"] .xterm').click();
  await p.keyboard.type(text);
  await p.keyboard.press('Enter');
}

async function newPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  return ctx.newPage();
}

async function joinAs(p: Page, joinUrl: string, name: string): Promise<void> {
  await p.goto(joinUrl);
  await p.getByLabel('Your name').fill(name);
  await p.getByRole('button', { name: 'Join' }).click();
  await expect(p.locator('.lab-title')).toHaveText('Workshop drill');
}

/** Opens a raw WebSocket from inside the page (its cookie, its Origin) and returns the first error reply. */
function probe(p: Page, socketPath: string, messages: object[]): Promise<{ code: string; message: string } | { closed: number }> {
  return p.evaluate(
    ({ url, messages }) =>
      new Promise<{ code: string; message: string } | { closed: number }>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', version: 2, labId: 'workshop-drill' }));
        ws.onmessage = (ev) => {
          if (typeof ev.data !== 'string') return; // terminal output (binary frames)
          const m = JSON.parse(ev.data) as { type: string; code?: string; message?: string; channel?: number };
          if (m.type === 'welcome') for (const x of messages) ws.send(JSON.stringify(x));
          if (m.type === 'term-opened') ws.send(JSON.stringify({ type: 'term-input', channel: m.channel, data: 'echo INTRUDER\r' }));
          if (m.type === 'error') {
            resolve({ code: m.code ?? '', message: m.message ?? '' });
            ws.close();
          }
        };
        ws.onclose = (ev) => resolve({ closed: ev.code });
      }),
    { url: new URL(socketPath, p.url()).toString().replace(/^http/, 'ws').replace(/#.*$/, ''), messages },
  );
}

test.beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-workshop-e2e-'));
  mkdirSync(path.join(dir, 'labs', 'workshop-drill'), { recursive: true });
  writeFileSync(path.join(dir, 'labs', 'workshop-drill', 'lab.md'), LAB);
  port = await freePort();
  base = `http://127.0.0.1:${port}/lw/`;
  server = await serve(port, dir);
});

test.afterAll(async () => {
  // A running workshop's hosts outlive a SIGTERM on purpose; end it first so nothing is left.
  const id = /#\/instructor\/workshops\/([\w-]+)/.exec(instructor?.url() ?? '')?.[1];
  if (id && server.exitCode === null) await instructor.context().request.post(`${base}api/workshops/${id}/end`).catch(() => undefined);
  for (const c of contexts) await c.close();
  contexts = [];
  if (server.exitCode === null) {
    // SIGTERM: the server gives every environment back before it exits.
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('instructor runs a workshop; attendees progress; grid live; mirror read-only; kill -9 loses nothing', async ({ browser }) => {
  // The instructor logs in and creates a workshop.
  instructor = await newPage(browser);
  await instructor.goto(`${base}#/instructor`);
  await instructor.getByLabel('Instructor credential').fill('not-the-credential');
  await instructor.getByRole('button', { name: 'Log in' }).click();
  await expect(instructor.locator('.form-message')).toContainText('not the instructor credential');
  await instructor.getByLabel('Instructor credential').fill(TOKEN);
  await instructor.getByRole('button', { name: 'Log in' }).click();
  await instructor.getByLabel('Seats').fill('5');
  await instructor.getByRole('button', { name: 'Create workshop' }).click();
  await expect(instructor.locator('.dash-head h1')).toHaveText('Workshop drill');
  await expect(instructor.locator('.dash-conn')).toHaveText('● live');
  const joinUrl = await instructor.locator('.join-link').inputValue();
  expect(joinUrl).toMatch(/#\/join\/[A-Za-z0-9_-]{43}$/);

  // Two attendees join in their own browser contexts and get their own hosts.
  ada = await newPage(browser);
  bob = await newPage(browser);
  await joinAs(ada, joinUrl, 'Ada');
  await joinAs(bob, joinUrl, 'Bob');
  await expect(gridRow('Ada')).toBeVisible();
  await expect(gridRow('Bob')).toBeVisible();
  await expect(tab(ada)).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });
  await expect(tab(bob)).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });
  await expect(step(ada, 1)).toHaveAttribute('data-state', 'locked');

  // Each completes steps in their terminal; the grid follows without a reload.
  await type(ada, 'touch /tmp/one');
  await expect(step(ada, 0)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(cell('Ada', 0)).toHaveClass(/done/);
  await expect(cell('Ada', 1)).toHaveClass(/current/);
  await type(bob, 'touch /tmp/one; echo hello > /tmp/two');
  await expect(step(bob, 1)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(cell('Bob', 1)).toHaveClass(/done/);
  await expect(cell('Bob', 2)).toHaveClass(/current/);
  // Hosts are per attendee: Ada's host0 has no /tmp/two.
  await type(ada, 'test -e /tmp/two && echo SHARED || echo ISOLATED');
  await expect(screen(ada)).toContainText('ISOLATED');
  // …and Ada's hosts cannot reach Bob's over the network.
  await type(bob, 'echo "BOB-IP=$(hostname -I | cut -d" " -f1)="');
  await expect(screen(bob)).toContainText(/BOB-IP=10\.[\d.]+=/);
  const bobIp = /BOB-IP=(10\.[\d.]+)=/.exec((await screen(bob).textContent()) ?? '')?.[1];
  expect(bobIp).toBeTruthy();
  // $((…)) so that only the output, not the typed command line, contains the verdict.
  await type(ada, `timeout 3 bash -c 'echo > /dev/tcp/${bobIp}/22' 2>/dev/null && echo NET-$((40+2))-OPEN || echo NET-$((40+2))-BLOCKED`);
  await expect(screen(ada)).toContainText('NET-42-BLOCKED', { timeout: 15_000 });
  await expect(screen(ada)).not.toContainText('NET-42-OPEN');
  // The probe itself works: Ada's own sshd answers it.
  await type(ada, `timeout 3 bash -c "echo > /dev/tcp/$(hostname -I | cut -d' ' -f1)/22" && echo SELF-$((40+2))-OPEN`);
  await expect(screen(ada)).toContainText('SELF-42-OPEN', { timeout: 15_000 });

  // The instructor watches Bob's terminal read-only.
  await gridRow('Bob').click();
  const mirror = instructor.locator('.mirror-pane[data-host="host0"] .xterm-rows');
  await expect(mirror).toContainText('echo hello > /tmp/two');
  await instructor.locator('.mirror-pane[data-host="host0"] .xterm').click();
  await instructor.keyboard.type('echo FROM-INSTRUCTOR');
  await instructor.keyboard.press('Enter');
  await type(bob, 'echo bob-after-$((6*7))');
  await expect(mirror).toContainText('bob-after-42');
  await expect(screen(bob)).not.toContainText('FROM-INSTRUCTOR');
  await saveDocsScreenshot(instructor, 'screenshot-dashboard-mirror.png');
  // Not only hidden in the page: the server refuses input on a mirror.
  const bobId = await gridRow('Bob').getAttribute('data-attendee');
  expect(bobId).toBeTruthy();
  const mirrorOpen = { type: 'term-open', channel: 900, host: 'host0', cols: 80, rows: 24, mirrorOf: bobId };
  expect(await probe(instructor, 'dashboard-ws', [mirrorOpen])).toMatchObject({ code: 'read-only' });

  // Ada's cookie cannot open Bob's terminal, nor the dashboard.
  expect(await probe(ada, 'ws', [mirrorOpen])).toMatchObject({ code: 'forbidden' });
  expect(await probe(ada, 'dashboard-ws', [{ type: 'dashboard-watch', workshopId: 'w00000000' }])).toMatchObject({ code: 'forbidden' });
  await expect(screen(bob)).not.toContainText('INTRUDER');

  // kill -9 of the server, restart: acknowledged steps are still done, the pages recover alone.
  const killed = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await killed;
  await expect(ada.locator('.conn-status')).not.toHaveAttribute('data-state', 'open');
  server = await serve(port, dir);
  await expect(instructor.locator('.dash-conn')).toHaveText('● live', { timeout: 30_000 });
  await expect(tab(ada)).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await expect(tab(bob)).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  // Same hosts, same shells (tmux re-attached): the earlier output is still on screen.
  await expect(screen(ada)).toContainText('ISOLATED');
  await expect(step(ada, 0)).toHaveAttribute('data-state', 'done');
  await expect(step(bob, 0)).toHaveAttribute('data-state', 'done');
  await expect(step(bob, 1)).toHaveAttribute('data-state', 'done');
  await expect(cell('Bob', 1)).toHaveClass(/done/);
  await bob.reload();
  await expect(step(bob, 1)).toHaveAttribute('data-state', 'done');
  // And work goes on: the grid still updates live after the restart.
  await expect(tab(ada)).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await type(ada, 'echo hello > /tmp/two');
  await expect(step(ada, 1)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(cell('Ada', 1)).toHaveClass(/done/);

  // Ending the workshop tells the attendees and frees their hosts.
  instructor.once('dialog', (d) => void d.accept());
  await instructor.getByRole('button', { name: 'End workshop' }).click();
  await expect(ada.locator('.conn-status')).toContainText('workshop', { timeout: 30_000 });
  await expect(instructor.locator('.dash-facts')).toContainText('ended');

  // Log out ends the instructor session on the server, not only on the page.
  await instructor.getByRole('button', { name: 'Log out' }).click();
  await expect(instructor.getByLabel('Instructor credential')).toBeVisible();
  const me = await instructor.request.get(`${base}api/instructor/me`);
  expect(await me.json()).toMatchObject({ instructor: false });
  const list = await instructor.request.get(`${base}api/workshops`);
  expect(list.status()).toBe(401);
});
