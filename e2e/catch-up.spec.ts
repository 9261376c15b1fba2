// Catch-up end to end, in real Chromium against `labwright serve` and a real host: the attendee does
// step 1 herself; the instructor catches her up to step 3 (step 2's solution replayed on her host);
// her page and the dashboard say which steps were replayed; a solution that fails stops a catch-up
// of the whole room at that step, and the dashboard says why.
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { OwnServer } from './own-server.ts';

test.setTimeout(300_000);

const TITLE = 'Catch-up drill';
const LAB = `---
title: ${TITLE}
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

let server: OwnServer | undefined;

test.afterAll(async () => {
  await server?.stop();
});

test('the instructor catches an attendee up: steps replayed on her host and marked so; a failing solution stops a room catch-up, saying why', async ({ browser }) => {
  server = await OwnServer.start({ 'catch-up-drill': LAB });
  const own = server;
  const newPage = (): Promise<Page> => own.newPage(browser, { width: 1440, height: 900 });
  const teacher = await newPage();
  teacher.on('dialog', (d) => void d.accept());
  const joinUrl = await own.createWorkshop(teacher, TITLE);
  const ada = await newPage();
  await own.join(ada, joinUrl, 'Ada', TITLE, ['host0']);

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
  const csv = await teacher.context().request.get(`${own.base}api/workshops/${/workshops\/([\w-]+)/.exec(teacher.url())?.[1] ?? ''}/export?format=csv`);
  const rows = (await csv.text()).trim().split('\r\n');
  expect(rows.filter((r) => r.startsWith('Ada,')).map((r) => r.split(',').slice(2, 3).concat(r.split(',').slice(-1)))).toEqual([
    ['1', 'false'],
    ['2', 'true'],
    ['3', 'false'],
  ]);
});
