// The help loop end to end, in real Chromium against `labwright serve` (its own process, data dir
// and one-host lab) and real hosts, an instructor and an attendee in separate browser contexts:
// raise hand with text → the dashboard lists it first with step and last check → answer → the
// attendee reads it; a message to everyone; take the keyboard with consent, typing through the
// mirror into the attendee's real shell, and refused again once the attendee takes it back.
import type { BrowserContext, Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { INSTRUCTOR_TOKEN, OwnServer } from './own-server.ts';

test.setTimeout(300_000);

const LAB = `---
title: Help drill
summary: One step on one host, for the help loop's end-to-end test.
hosts: [host0]
---
## Leave a marker

\`\`\`run host0
touch /tmp/one
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/one }
\`\`\`
`;

let server: OwnServer;
let base: string;
let workshopId = '';
let instructorCtx: BrowserContext | undefined;

const screen = (p: Page): Locator => p.locator('.term-mount[data-host="host0"] .xterm-rows');

/** From inside the page (its cookie, its Origin): opens a mirror of `attendee` on the dashboard socket, types into it, returns the first error reply. */
function mirrorProbe(p: Page, attendee: string): Promise<{ code: string; message: string } | { closed: number }> {
  return p.evaluate(
    ({ url, attendee }) =>
      new Promise<{ code: string; message: string } | { closed: number }>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', version: 2, labId: 'help-drill' }));
        ws.onmessage = (ev) => {
          if (typeof ev.data !== 'string') return; // terminal output (binary frames)
          const m = JSON.parse(ev.data) as { type: string; code?: string; message?: string; channel?: number };
          if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'term-open', channel: 901, host: 'host0', cols: 80, rows: 24, mirrorOf: attendee }));
          if (m.type === 'term-opened') ws.send(JSON.stringify({ type: 'term-input', channel: m.channel, data: 'echo PROBE-$((6*7))\r' }));
          if (m.type === 'error') {
            resolve({ code: m.code ?? '', message: m.message ?? '' });
            ws.close();
          }
        };
        ws.onclose = (ev) => resolve({ closed: ev.code });
      }),
    { url: new URL('dashboard-ws', p.url()).toString().replace(/^http/, 'ws').replace(/#.*$/, ''), attendee },
  );
}

test.beforeAll(async () => {
  server = await OwnServer.start({ 'help-drill': LAB });
  base = server.base;
});

test.afterAll(async () => {
  // A running workshop's hosts outlive a SIGTERM on purpose; end it first so nothing is left.
  if (workshopId && instructorCtx) await instructorCtx.request.post(`${base}api/workshops/${workshopId}/end`).catch(() => undefined);
  await server?.stop();
});

test('raise hand → answered on the page; message everyone; take the keyboard with consent, then taken back', async ({ browser }) => {
  // The instructor logs in and creates a workshop; Bob joins first (so without a hand he would be listed first).
  const instructor = await server.newPage(browser, { width: 1440, height: 1000 });
  instructorCtx = instructor.context();
  expect((await instructorCtx.request.post(`${base}api/instructor/login`, { data: { token: INSTRUCTOR_TOKEN } })).ok()).toBe(true);
  const created = await instructorCtx.request.post(`${base}api/workshops`, { data: { labId: 'help-drill', capacity: 5, minutes: 60 } });
  const w = (await created.json()) as { id: string; joinPath: string };
  workshopId = w.id;
  const bobCtx = (await server.newPage(browser)).context();
  expect((await bobCtx.request.post(`${base}api/join/${w.joinPath.split('/').pop()}`, { data: { name: 'Bob' } })).ok()).toBe(true);

  await instructor.goto(`${base}#/instructor/workshops/${w.id}`);
  await expect(instructor.locator('.dash-conn')).toHaveText('● live');

  const ada = await server.newPage(browser);
  await ada.goto(new URL(w.joinPath, base).toString());
  await ada.getByLabel('Your name').fill('Ada');
  await ada.getByRole('button', { name: 'Join' }).click();
  await expect(ada.locator('.lab-title')).toHaveText('Help drill');
  await expect(ada.locator('.term-tab[data-host="host0"]')).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });
  const rows = instructor.locator('.grid .attendee');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toHaveAttribute('data-name', 'Bob');

  // Ada checks (it fails: no marker yet) and raises her hand with a line of text.
  await ada.getByRole('button', { name: 'Check' }).click();
  await ada.getByLabel('What do you need help with? (optional)').fill('my marker is not seen');
  await ada.getByRole('button', { name: 'Raise hand' }).click();
  await expect(ada.getByRole('button', { name: 'Lower hand' })).toBeVisible();
  await expect(ada.getByText('Your hand is raised: “my marker is not seen”')).toBeVisible();

  // The dashboard lists her first, with her step and her last check.
  const hands = instructor.getByRole('region', { name: 'Raised hands' });
  await expect(hands).toBeVisible();
  const hand = hands.locator('.hand-item[data-name="Ada"]');
  await expect(hand).toContainText('Step 1: Leave a marker');
  await expect(hand).toContainText('Last check (step 1): not yet, 1 failing', { timeout: 30_000 });
  await expect(hand).toContainText('“my marker is not seen”');
  await expect(rows.first()).toHaveAttribute('data-name', 'Ada');
  await expect(rows.first()).toContainText('hand raised');

  // The instructor answers: the message appears on Ada's page and her hand goes down.
  await instructor.getByLabel('Answer to Ada').fill('Run the step’s command in host0, then press Check');
  await hand.getByRole('button', { name: 'Answer' }).click();
  const inbox = ada.getByRole('region', { name: 'Messages from your instructor' });
  await expect(inbox).toContainText('To you Run the step’s command in host0, then press Check');
  await expect(ada.getByRole('button', { name: 'Raise hand' })).toBeVisible();
  await expect(hands).toBeHidden();
  await expect(rows.first()).toHaveAttribute('data-name', 'Bob');

  // A message to everyone reaches her too (as text: markup-looking words are refused, not rendered).
  await instructor.getByLabel('Message to everyone').fill('Break until 11:00 — coffee is in room B');
  await instructor.getByRole('button', { name: 'Message everyone' }).click();
  await expect(inbox.locator('.help-message').first()).toContainText('To everyone Break until 11:00 — coffee is in room B');
  await instructor.getByLabel('Message to everyone').fill('<img src=x onerror=alert(1)>');
  await instructor.getByRole('button', { name: 'Message everyone' }).click();
  await expect(instructor.locator('.form-message')).toContainText('Not sent: plain text only: no HTML tags');
  await expect(inbox.locator('img')).toHaveCount(0);

  // Take the keyboard: the mirror is read-only until Ada allows it.
  await rows.filter({ hasText: 'Ada' }).click();
  const mirrorPane = instructor.locator('.mirror-pane[data-host="host0"]');
  const mode = instructor.locator('.mirror-mode');
  await expect(mode).toHaveText('Read-only');
  const mirrorState = instructor.locator('.mirror-tab[data-host="host0"] .mirror-state');
  await expect(mirrorState).toHaveText('read-only', { timeout: 60_000 });
  await instructor.getByRole('button', { name: 'Take the keyboard' }).click();
  await expect(instructor.getByText('Waiting for Ada to allow…')).toBeVisible();
  const prompt = ada.getByRole('alertdialog', { name: 'Keyboard request' });
  await expect(prompt).toBeVisible();
  await prompt.getByRole('button', { name: 'Allow' }).click();
  const banner = ada.getByRole('alert').filter({ hasText: 'The instructor is typing in your terminal' });
  await expect(banner).toBeVisible();
  await expect(mode).toHaveText('Read-write: you are typing in Ada’s terminal');
  await expect(instructor.locator('.mirror-panel')).toHaveClass(/keyboard-on/);
  await expect(mirrorState).toHaveText('read-write', { timeout: 30_000 });
  await mirrorPane.locator('.xterm').click();
  await instructor.keyboard.type('echo hi-from-instructor');
  await instructor.keyboard.press('Enter');
  // It ran in Ada's own shell: the command line, then its output on the next row (rows join without a newline).
  await expect(screen(ada)).toContainText(/echo hi-from-instructor\s*hi-from-instructor/, { timeout: 30_000 });

  // Ada takes it back: both sides say so, and the server refuses the instructor's input again.
  await banner.getByRole('button', { name: 'Take back' }).click();
  await expect(banner).toBeHidden();
  await expect(mode).toHaveText('Read-only');
  await expect(mirrorState).toHaveText('read-only', { timeout: 30_000 });
  await expect(instructor.getByRole('button', { name: 'Take the keyboard' })).toBeVisible();
  await mirrorPane.locator('.xterm').click();
  await instructor.keyboard.type('echo after-take-back');
  await instructor.keyboard.press('Enter');
  const adaId = await rows.filter({ hasText: 'Ada' }).getAttribute('data-attendee');
  expect(adaId).toBeTruthy();
  expect(await mirrorProbe(instructor, adaId ?? '')).toMatchObject({ code: 'read-only' });
  await ada.locator('.term-mount[data-host="host0"] .xterm').click();
  await ada.keyboard.type('echo ada-still-$((6*7))');
  await ada.keyboard.press('Enter');
  await expect(screen(ada)).toContainText('ada-still-42');
  await expect(screen(ada)).not.toContainText('after-take-back');
  await expect(screen(ada)).not.toContainText('PROBE-42');
});
