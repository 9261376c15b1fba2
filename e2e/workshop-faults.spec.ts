// Faults on demand in real Chromium against `labwright serve` and real hosts: an instructor fires a
// lab's fault from the dashboard (for one attendee, and for everyone); it cannot be fired (the button says why) for an
// attendee who has not finished its step; the attendee's page says something changed, the step's
// checks show it broken, the attendee repairs it in their terminal and the notice turns "Repaired".
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';
import { OwnServer } from './own-server.ts';

test.describe.configure({ mode: 'serial' });
test.setTimeout(300_000);

const TITLE = 'Fault drill';
const FAULT = 'The marker file is gone';
const LAB = `---
title: ${TITLE}
summary: One host, one fault, for the faults end-to-end test.
hosts: [host0]
services: { etcd: none, docker: false }
---
Follow the steps on host0.

## Leave a marker

\`\`\`run host0
touch /tmp/marker
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/marker }
\`\`\`

\`\`\`solve host0
touch /tmp/marker
\`\`\`

\`\`\`fault marker-gone host0
# ${FAULT}
rm -f /tmp/marker
\`\`\`

\`\`\`repair marker-gone host0
touch /tmp/marker
\`\`\`

## Sign off

\`\`\`run host0
echo bye > /tmp/bye
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/bye, contains: bye }
\`\`\`

\`\`\`solve host0
echo bye > /tmp/bye
\`\`\`
`;

let server: OwnServer;
let instructor: Page;
let ada: LabDriver;
let bob: LabDriver;

const notice = (p: LabDriver): Locator => p.page.getByRole('status', { name: 'Notices from your instructor' });
const row = (name: string): Locator => instructor.locator(`.grid .attendee[data-name="${name}"]`);
const dashMessage = (): Locator => instructor.locator('main.dashboard > .form-message');

/** Opens the attendee's detail on the dashboard and returns its Faults list item for the fault. */
async function detailFault(name: string): Promise<Locator> {
  await row(name).click();
  await expect(instructor.locator('.detail-head h2')).toHaveText(name);
  return instructor.locator('.detail-faults li[data-fault="marker-gone"]');
}

test.beforeAll(async ({ browser }) => {
  // Hosts for each attendee are made here: longer than a hook's default minute on a busy machine.
  test.setTimeout(300_000);
  server = await OwnServer.start({ 'fault-drill': LAB });
  instructor = await server.newPage(browser);
  const joinUrl = await server.createWorkshop(instructor, TITLE);
  ada = new LabDriver(await server.newPage(browser));
  bob = new LabDriver(await server.newPage(browser));
  await server.join(ada.page, joinUrl, 'Ada', TITLE, ['host0']);
  await server.join(bob.page, joinUrl, 'Bob', TITLE, ['host0']);
});

test.afterAll(async () => {
  await server?.stop();
});

test('a fault cannot be fired, visibly, for an attendee who has not finished its step', async () => {
  await ada.typeInto('host0', 'touch /tmp/marker');
  await expect(ada.step(0)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(row('Ada').locator('.cell[data-step="0"]')).toHaveClass(/done/);
  // The dashboard offers the lab's fault; Bob's detail has a Fire button for it.
  await expect(instructor.getByRole('combobox', { name: 'Fault to fire' })).toContainText(`${FAULT} (host0, step 1)`);
  const bobFault = await detailFault('Bob');
  // Bob has not finished step 1: his Fire button says so before any click (the server would refuse it too).
  await expect(bobFault).toContainText('not fired · can be fired once step 1 is done');
  await expect(bobFault.getByRole('button', { name: `Fire "${FAULT}" for Bob` })).toBeDisabled();
  await expect(bobFault).toHaveAttribute('data-state', 'none');
  await expect(notice(bob)).toBeHidden();
});

test('Fire for everyone breaks it for those who finished the step; the attendee sees it, checks it, repairs it', async () => {
  instructor.once('dialog', (d) => void d.accept());
  await instructor.getByRole('button', { name: 'Fire for everyone' }).click();
  await expect(dashMessage()).toHaveText(`Fired "${FAULT}" for 1 of 2 attendees. Not fired — Bob: they have not finished step 1 yet, whose checks would show the repair.`);
  await expect(row('Ada').locator('.fault-badge')).toHaveText('still broken');
  await expect(row('Bob').locator('.fault-badge')).toHaveCount(0);

  // Ada's page says something changed, and where — never the fault's commands.
  await expect(notice(ada)).toContainText(`Something changed Your instructor broke something on host0: ${FAULT}. Find it and repair it.`);
  await expect(notice(ada)).not.toContainText('rm -f');
  await expect(notice(bob)).toBeHidden();
  // The step stays done (progress is not taken away), but its checks now fail.
  await expect(ada.step(0)).toHaveAttribute('data-state', 'done');
  await ada.step(0).getByRole('button', { name: 'Check' }).click();
  await expect(ada.step(0).locator('.check-report')).toHaveAttribute('data-state', 'fail', { timeout: 15_000 });
  await expect(ada.step(0).locator('.check-item[data-status="fail"]')).toContainText('/tmp/marker');

  // Ada repairs it in her terminal: the notice turns "Repaired", and so does the dashboard.
  await ada.typeInto('host0', 'touch /tmp/marker');
  await expect(notice(ada).locator('.fault-notice')).toHaveAttribute('data-state', 'repaired', { timeout: 30_000 });
  await expect(notice(ada)).toContainText(`✓ Repaired: ${FAULT} (on host0).`);
  await expect(row('Ada').locator('.fault-badge')).toHaveText('repaired');
  await ada.step(0).getByRole('button', { name: 'Check' }).click();
  await expect(ada.step(0).locator('.check-report')).toHaveAttribute('data-state', 'pass', { timeout: 15_000 });
});

test('Fire in one attendee’s detail breaks it for that attendee alone', async () => {
  await bob.typeInto('host0', 'touch /tmp/marker');
  await expect(bob.step(0)).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  const bobFault = await detailFault('Bob');
  await bobFault.getByRole('button', { name: `Fire "${FAULT}" for Bob` }).click();
  await expect(dashMessage()).toHaveText(`Fired "${FAULT}" for 1 of 1 attendee.`);
  await expect(bobFault).toHaveAttribute('data-state', 'broken');
  await expect(bobFault).toContainText('still broken');
  // Fired and not repaired yet: it cannot be fired again.
  await expect(bobFault.getByRole('button', { name: `Fire "${FAULT}" for Bob` })).toBeDisabled();
  await expect(notice(bob)).toContainText(`Your instructor broke something on host0: ${FAULT}. Find it and repair it.`);
  // Ada's notice still says her earlier one was repaired: nothing new reached her.
  await expect(notice(ada).locator('.fault-notice')).toHaveCount(1);
  await expect(notice(ada).locator('.fault-notice')).toHaveAttribute('data-state', 'repaired');
  await expect(row('Ada').locator('.fault-badge')).toHaveText('repaired');

  await bob.step(0).getByRole('button', { name: 'Check' }).click();
  await expect(bob.step(0).locator('.check-report')).toHaveAttribute('data-state', 'fail', { timeout: 15_000 });
  await expect(bob.step(0).locator('.check-item[data-status="fail"]')).toContainText('/tmp/marker');
  await bob.typeInto('host0', 'touch /tmp/marker');
  await expect(notice(bob).locator('.fault-notice')).toHaveAttribute('data-state', 'repaired', { timeout: 30_000 });
  await expect(bobFault).toHaveAttribute('data-state', 'repaired');
  await expect(bobFault).toContainText(/repaired at/);
});
