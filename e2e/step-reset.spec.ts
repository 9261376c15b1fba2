// "Reset this step" in real Chromium against `labwright serve` and a real host: an attendee who broke
// something in the open step presses Reset this step, confirms, is told it is done, and finds the mess gone
// while what the finished step made is still there; the instructor's Reset step on the dashboard does the
// same; it still works after the server restarts; and ending the workshop leaves nothing under envs/.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';
import { OwnServer } from './own-server.ts';

test.setTimeout(600_000);

const TITLE = 'Reset drill';
const LAB = `---
title: ${TITLE}
summary: Two steps on one host, for the step reset end-to-end test.
hosts: [host0]
services: { etcd: none, docker: false }
---
Follow the steps on host0.

## Write the first file

\`\`\`run host0
echo one > /root/one
\`\`\`

\`\`\`check
file: { on: host0, path: /root/one, contains: one }
\`\`\`

## Write the second file

\`\`\`run host0
echo two > /root/two
\`\`\`

\`\`\`check
file: { on: host0, path: /root/two, contains: two }
\`\`\`
`;

let server: OwnServer;

test.afterAll(async () => {
  await server?.stop();
});

/** Accepts the next confirm() the page shows, and returns its text. */
const acceptNextDialog = (p: Page): Promise<string> =>
  new Promise((resolve) =>
    p.once('dialog', (d) => {
      resolve(d.message());
      void d.accept();
    }),
  );

test('Reset this step: the mess made in the open step goes, earlier steps stay; the dashboard’s Reset step; after a restart; nothing left after the end', async ({ browser }) => {
  server = await OwnServer.start({ 'reset-drill': LAB });
  const instructor = await server.newPage(browser);
  const joinUrl = await server.createWorkshop(instructor, TITLE);
  const page = await server.newPage(browser);
  const ada = new LabDriver(page);
  await server.join(page, joinUrl, 'Ada', TITLE, ['host0']);

  // Step 1 done through its Run button; step 2 opens (its snapshot is taken as it opens).
  await ada.step(0).getByRole('button', { name: 'Run on host0' }).click();
  await expect(ada.step(0)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const two = ada.step(1);
  await expect(two).toHaveAttribute('data-state', 'open');
  const status = two.locator('.step-reset').getByRole('status');

  let probes = 0;
  /** Types a line that prints what is on host0 now, and waits for its answer (retyped until the shell takes it). */
  const hostSays = async (want: string): Promise<void> => {
    await expect(ada.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 120_000 });
    const n = ++probes;
    await expect(async () => {
      await ada.typeInto('host0', `echo "probe-${n} one=$(cat /root/one) mess=$(cat /root/mess* 2>/dev/null | tr '\\n' , || true)."`);
      await expect(ada.row('host0', new RegExp(`probe-${n} one=one mess=${want}\\.`)).first()).toBeVisible({ timeout: 10_000 });
    }).toPass({ timeout: 60_000 });
  };

  /** The attendee presses Reset this step and confirms; the status line says what the server answered. */
  const attendeeResets = async (): Promise<void> => {
    const asked = acceptNextDialog(page);
    await two.getByRole('button', { name: 'Reset this step' }).click();
    expect(await asked).toContain('Your hosts go back to how they were when this step opened');
    await expect(status).toHaveText('This step was reset: your hosts are as they were when it opened.', { timeout: 180_000 });
  };

  // The attendee breaks something in step 2, then resets the step.
  await ada.typeInto('host0', 'echo broken > /root/mess-a');
  await hostSays('broken,');
  await attendeeResets();
  await hostSays('');
  await expect(ada.step(0)).toHaveAttribute('data-state', 'done');
  await expect(two).toHaveAttribute('data-state', 'open');

  // The instructor resets Ada's step from the dashboard.
  await ada.typeInto('host0', 'echo again > /root/mess-b');
  await hostSays('again,');
  await instructor.locator('.grid .attendee[data-name="Ada"]').click();
  await expect(instructor.locator('.detail-head h2')).toHaveText('Ada');
  const confirmed = acceptNextDialog(instructor);
  await instructor.getByRole('button', { name: 'Reset step' }).click();
  expect(await confirmed).toContain('back to how they were when their current step opened');
  await expect(instructor.getByRole('status').filter({ hasText: "Ada's step" })).toHaveText("Ada's step was reset.", { timeout: 180_000 });
  // Ada's page was told too.
  await expect(status).toHaveText('This step was reset: your hosts are as they were when it opened.');
  await hostSays('');

  // Something broken, then the server restarts (the workshop's hosts keep running): the page reconnects, and
  // the step still goes back to how it was when it opened — not to how it was when the server came back.
  await ada.typeInto('host0', 'echo before-restart > /root/mess-c');
  await hostSays('before-restart,');
  await server.restart();
  await expect(two.getByRole('button', { name: 'Reset this step' })).toBeVisible({ timeout: 60_000 });
  await hostSays('before-restart,');
  await attendeeResets();
  await hostSays('');
  await expect(ada.step(0)).toHaveAttribute('data-state', 'done');

  // Ending the workshop destroys the hosts, their snapshots with them: nothing stays under envs/.
  const envs = path.join(server.dataDir, 'envs');
  expect(readdirSync(envs).length).toBe(1);
  const id = /#\/instructor\/workshops\/([\w-]+)/.exec(instructor.url())?.[1];
  expect((await instructor.context().request.post(`${server.base}api/workshops/${id}/end`)).status()).toBe(200);
  await expect.poll(() => readdirSync(envs), { timeout: 60_000 }).toEqual([]);
});
