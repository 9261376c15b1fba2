// `setup HOST` blocks in real Chromium against `labwright serve` and a real host: the attendee's step
// says "Preparing this step…" while its setup runs, then opens; a failing setup says "This step could
// not be prepared" with the host and reason and a Retry that works once the cause is fixed; the
// instructor's dashboard marks that attendee meanwhile; and the setup's text never reaches the
// attendee (no HTTP response, no WebSocket frame, not the terminal).
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';
import { OwnServer } from './own-server.ts';

test.setTimeout(300_000);

const TITLE = 'Setup drill';
/** Only in the setup blocks: it must never reach the attendee's browser. */
const MARKER = 'SETUP-ONLY-5e0d27';
// Step 1's setup prepares the host, then waits until the attendee's terminal says go (so the test
// sees it running without timing anything). Step 2's setup fails until /tmp/allow-setup exists.
const LAB = `---
title: ${TITLE}
summary: Two steps that start from a prepared host, for the setup end-to-end test.
hosts: [host0]
services: { etcd: none, docker: false }
---
Follow the steps on host0.

## Start from a prepared host

\`\`\`setup host0
echo prepared > /etc/setup-drill  # ${MARKER}
until test -e /tmp/go; do sleep 0.2; done
\`\`\`

\`\`\`run host0
cat /etc/setup-drill > /tmp/step-one
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/step-one, contains: prepared }
\`\`\`

\`\`\`solve host0
cat /etc/setup-drill > /tmp/step-one
\`\`\`

## A step whose setup needs something first

\`\`\`setup host0
test -e /tmp/allow-setup || { echo "waiting for /tmp/allow-setup" >&2; exit 3; }  # ${MARKER}
echo ready > /tmp/step-two-ready
\`\`\`

\`\`\`run host0
cat /tmp/step-two-ready > /tmp/step-two
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/step-two, contains: ready }
\`\`\`

\`\`\`solve host0
cat /tmp/step-two-ready > /tmp/step-two
\`\`\`
`;

let server: OwnServer;

test.afterAll(async () => {
  await server?.stop();
});

test('setup: preparing, then the step; a failure with Retry; the dashboard marks it; its text never reaches the attendee', async ({ browser }) => {
  server = await OwnServer.start({ 'setup-drill': LAB });
  const instructor = await server.newPage(browser);
  const joinUrl = await server.createWorkshop(instructor, TITLE);
  const row = instructor.locator(`.grid .attendee[data-name="Ada"]`);

  // Everything the attendee's browser receives: every HTTP response body and every WebSocket frame.
  const page: Page = await server.newPage(browser);
  const received: { what: string; text: string }[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push({ what: `ws ${ws.url()}`, text: typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8') })));
  page.on('response', (res) => {
    void res
      .text()
      .then((text) => received.push({ what: `${res.status()} ${res.url()}`, text }))
      .catch(() => undefined);
  });
  const ada = new LabDriver(page);
  await server.join(page, joinUrl, 'Ada', TITLE, ['host0']);

  // Step 1 is being prepared: it says so, its Check waits, and the dashboard shows it.
  const one = ada.step(0);
  await expect(one.getByRole('status').filter({ hasText: 'Preparing this step…' })).toBeVisible();
  await expect(one.getByRole('button', { name: 'Check' })).toBeDisabled();
  await expect(row.locator('.setup-note')).toHaveText('preparing…');
  await ada.typeInto('host0', 'touch /tmp/go');
  await expect(one.getByText('Preparing this step…')).toBeHidden({ timeout: 30_000 });
  await expect(one.getByRole('button', { name: 'Check' })).toBeEnabled();
  await expect(row.locator('.setup-note')).toHaveCount(0);
  // The setup really changed the host: the step's check passes on what it wrote.
  await one.getByRole('button', { name: 'Run on host0' }).click();
  await expect(one).toHaveAttribute('data-state', 'done', { timeout: 30_000 });

  // Step 2's setup fails: the attendee sees why and a Retry; the instructor sees it too.
  const two = ada.step(1);
  const failure = two.getByRole('alert').filter({ hasText: 'This step could not be prepared' });
  await expect(failure).toBeVisible({ timeout: 30_000 });
  await expect(failure).toContainText('host0: exit 3: waiting for /tmp/allow-setup');
  await expect(two.getByRole('button', { name: 'Check' })).toBeDisabled();
  await expect(row.locator('.setup-note')).toHaveText('setup failed');
  await expect(row.locator('.setup-note')).toHaveAttribute('title', 'step 2 could not be prepared');
  await row.click();
  await expect(instructor.locator('.detail-head h2')).toHaveText('Ada');
  await expect(instructor.locator('.setup-detail')).toHaveText('Step 2 could not be prepared: host0: exit 3: waiting for /tmp/allow-setup');

  // Retry once the cause is fixed: the step opens, and the dashboard's mark goes.
  await ada.typeInto('host0', 'touch /tmp/allow-setup');
  await failure.getByRole('button', { name: 'Retry' }).click();
  await expect(failure).toBeHidden({ timeout: 30_000 });
  await expect(two.getByRole('button', { name: 'Check' })).toBeEnabled();
  await expect(row.locator('.setup-note')).toHaveCount(0);
  await expect(instructor.locator('.setup-detail')).toHaveCount(0);
  await two.getByRole('button', { name: 'Run on host0' }).click();
  await expect(two).toHaveAttribute('data-state', 'done', { timeout: 30_000 });

  // A reload finds both steps done and prepares nothing again (no "Preparing", no failure).
  await page.reload();
  await expect(ada.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await expect(page.locator('.step[data-state="done"]')).toHaveCount(2);
  await expect(page.locator('.step-setup')).toHaveCount(0);

  // Never shown to attendees: not in any response or frame their browser got, not on their screen.
  const screen: Locator = ada.screen('host0');
  await expect(screen).toContainText('touch /tmp/allow-setup');
  await expect(screen).not.toContainText(MARKER);
  expect(received.filter((r) => r.what.startsWith('ws ')).length).toBeGreaterThan(10);
  expect(received.some((r) => r.what.includes('/api/labs/setup-drill'))).toBe(true);
  expect(received.filter((r) => r.text.includes(MARKER)).map((r) => r.what)).toEqual([]);
  expect(received.filter((r) => r.text.includes('until test -e /tmp/go')).map((r) => r.what)).toEqual([]);
  await expect(page.locator('body')).not.toContainText(MARKER);
});
