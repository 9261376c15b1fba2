// "Boot hosts ahead for every seat" in real Chromium against `labwright serve` (warm pools off: K = 0) and a
// real host: the instructor creates a workshop of 2 seats with the option, the dashboard counts the hosts
// booted ahead until ready, an attendee joins and gets their host without ever being told to wait for a
// boot, and ending the workshop leaves nothing under envs/.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { INSTRUCTOR_TOKEN, OwnServer } from './own-server.ts';

test.setTimeout(420_000);

const TITLE = 'Boot-ahead drill';
const LAB = `---
title: ${TITLE}
summary: One step on one host, for the boot-ahead end-to-end test.
hosts: [host0]
services: { etcd: none, docker: false }
---
Follow the step on host0.

## Leave a marker

\`\`\`run host0
touch /root/marker
\`\`\`

\`\`\`check
file: { on: host0, path: /root/marker }
\`\`\`
`;

let server: OwnServer | undefined;
let instructorPage: Page | undefined;

test.afterAll(async () => {
  // A running workshop's hosts outlive a SIGTERM on purpose: end it first (a no-op when the test did).
  const id = /#\/instructor\/workshops\/([\w-]+)/.exec(instructorPage?.url() ?? '')?.[1];
  if (server && instructorPage && id) await instructorPage.context().request.post(`${server.base}api/workshops/${id}/end`).catch(() => undefined);
  await server?.stop();
});

test('Boot hosts ahead for every seat: the dashboard counts them, an attendee never waits for a boot, the end leaves nothing', async ({ browser }) => {
  server = await OwnServer.start({ 'ahead-drill': LAB });
  const envs = (): string[] => readdirSync(path.join(server!.dataDir, 'envs'));

  // The instructor creates a workshop of 2 seats with the option ticked.
  const instructor = await server.newPage(browser);
  await instructor.goto(`${server.base}#/instructor`);
  await instructor.getByLabel('Instructor credential').fill(INSTRUCTOR_TOKEN);
  await instructor.getByRole('button', { name: 'Log in' }).click();
  await instructor.getByLabel('Seats').fill('2');
  await instructor.getByLabel('Boot hosts ahead for every seat').check();
  await instructor.getByRole('button', { name: 'Create workshop' }).click();
  await expect(instructor.locator('.dash-head h1')).toHaveText(TITLE);
  instructorPage = instructor;

  // The dashboard shows the switch on and counts the hosts booted ahead until every seat has them.
  const bootAhead = instructor.getByRole('region', { name: 'Boot ahead' });
  await expect(bootAhead.getByLabel('Boot hosts ahead for every seat')).toBeChecked();
  await expect(bootAhead.getByRole('status')).toHaveText('Hosts booted ahead: 2 of 2 — ready, the class can join at once.', { timeout: 240_000 });
  expect(envs()).toHaveLength(2);

  // An attendee joins: every line the page shows above the terminals is recorded; none asks them to wait for a boot.
  const ada = await server.newPage(browser);
  await ada.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { hostStartSeen: string[] }).hostStartSeen = seen;
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('.host-start')) if (!(el as HTMLElement).hidden && el.textContent) seen.push(el.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const joinUrl = await instructor.locator('.join-link').inputValue();
  await server.join(ada, joinUrl, 'Ada', TITLE, ['host0']);
  await expect(ada.locator('.host-start')).toBeHidden();
  await expect(ada.locator('.host-start')).toHaveAttribute('data-state', 'ready');
  const seen = await ada.evaluate(() => (window as unknown as { hostStartSeen: string[] }).hostStartSeen);
  expect(seen.filter((t) => /waiting to boot/i.test(t))).toEqual([]);
  // Ada took one of the two environments booted ahead: nothing new was booted for her.
  expect(envs()).toHaveLength(2);
  await expect(bootAhead.getByRole('status')).toHaveText('Hosts booted ahead: 1 of 1 — ready, the class can join at once.');

  // Ending the workshop destroys Ada's hosts and the one still waiting for the second seat.
  instructor.once('dialog', (d) => void d.accept());
  await instructor.getByRole('button', { name: 'End workshop' }).click();
  await expect(instructor.locator('.dash-facts')).toContainText('ended');
  await expect.poll(envs, { timeout: 60_000 }).toEqual([]);
});
