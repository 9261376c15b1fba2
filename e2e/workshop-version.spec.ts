// A workshop keeps its lab version, in real Chromium against `labwright serve` and a real host: the
// author inserts a step and reorders two in the lab file while an attendee works; the attendee's page,
// checks, dashboard row and faults stay on the version the workshop started with; the dashboard offers "Move
// to the new version", and after the move the attendee's page shows the new version with every step
// they had done still done (progress follows step ids, not positions).
import { writeFileSync } from 'node:fs';
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { LabDriver } from './lab-driver.ts';
import { OwnServer } from './own-server.ts';

test.describe.configure({ mode: 'serial' });
test.setTimeout(300_000);

const TITLE = 'Version drill';
const step = (title: string, file: string, text: string): string =>
  `## ${title}\n\n\`\`\`run host0\necho ${text} > ${file}\n\`\`\`\n\n\`\`\`check\nfile: { on: host0, path: ${file}, contains: ${text} }\n\`\`\`\n\n\`\`\`solve host0\necho ${text} > ${file}\n\`\`\`\n\n`;
const fault = (name: string, title: string): string => `\`\`\`fault ${name} host0\n# ${title}\nrm -f /tmp/one\n\`\`\`\n\n\`\`\`repair ${name} host0\necho marker > /tmp/one\n\`\`\`\n\n`;
const lab = (...steps: string[]): string => `---\ntitle: ${TITLE}\nsummary: Edited on disk while a workshop runs.\nhosts: [host0]\nservices: { etcd: none, docker: false }\n---\nFollow the steps on host0.\n\n${steps.join('')}`;
const MARKER = step('Leave a marker', '/tmp/one', 'marker');
const GREETING = step('Write a greeting', '/tmp/two', 'hello');
const SIGN_OFF = step('Sign off', '/tmp/three', 'bye');
const WARM_UP = step('Warm up', '/tmp/zero', 'warm');
const V1 = lab(MARKER, fault('marker-gone', 'The marker is gone'), GREETING, SIGN_OFF);
// A step inserted before the first, the last two swapped, and the fault renamed and retitled.
const V2 = lab(WARM_UP, MARKER, fault('marker-lost', 'The marker was lost'), SIGN_OFF, GREETING);

let server: OwnServer;
let instructor: Page;
let ada: LabDriver;

const titles = (): Locator => ada.page.locator('.step .step-title > span:not(.step-badge):not(.step-status)');
const stepNamed = (title: string): Locator => ada.page.locator('.step').filter({ has: ada.page.getByRole('heading', { name: title }) });
const cells = (): Locator => instructor.locator('.grid .attendee[data-name="Ada"] .cell');
const lastReport = (title: string): Locator => stepNamed(title).locator('.check-report');

test.beforeAll(async ({ browser }) => {
  // Hosts for each attendee are made here: longer than a hook's default minute on a busy machine.
  test.setTimeout(300_000);
  server = await OwnServer.start({ 'version-drill': V1 });
  instructor = await server.newPage(browser);
  const joinUrl = await server.createWorkshop(instructor, TITLE);
  ada = new LabDriver(await server.newPage(browser));
  await server.join(ada.page, joinUrl, 'Ada', TITLE, ['host0']);
});

test.afterAll(async () => {
  await server?.stop();
});

test('an edit of the lab file changes nothing for a running workshop', async () => {
  await ada.typeInto('host0', 'echo marker > /tmp/one');
  await expect(stepNamed('Leave a marker')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(titles()).toHaveText(['Leave a marker', 'Write a greeting', 'Sign off']);
  const banner = instructor.getByRole('region', { name: 'Lab version' });
  await expect(banner).toBeHidden();

  writeFileSync(server.labFile('version-drill'), V2);
  // The dashboard says the file changed, and offers the move.
  await expect(banner).toContainText('Lab changed since this workshop started. Attendees keep the version they started with.', { timeout: 15_000 });
  await expect(banner.getByRole('button', { name: 'Move to the new version' })).toBeVisible();
  // The attendee's page, checks and dashboard row stay on the workshop's version — after a reload too.
  await ada.page.reload();
  await expect(ada.tab('host0')).toHaveAttribute('data-state', 'connected', { timeout: 60_000 });
  await expect(titles()).toHaveText(['Leave a marker', 'Write a greeting', 'Sign off']);
  await expect(stepNamed('Leave a marker')).toHaveAttribute('data-state', 'done');
  await expect(stepNamed('Write a greeting')).toHaveAttribute('data-state', 'open');
  await expect(stepNamed('Sign off')).toHaveAttribute('data-state', 'locked');
  await expect(stepNamed('Warm up')).toHaveCount(0);
  await ada.typeInto('host0', 'echo hello > /tmp/two');
  await expect(stepNamed('Write a greeting')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(stepNamed('Sign off')).toHaveAttribute('data-state', 'open');
  await expect(cells()).toHaveCount(3);
  // The dashboard offers the workshop version's fault, not the file's.
  const faultSelect = instructor.getByRole('combobox', { name: 'Fault to fire' });
  await expect(faultSelect.locator('option')).toHaveText(['The marker is gone (host0, step 1)']);
  await expect(cells().nth(1)).toHaveAttribute('title', '2. Write a greeting: done');
  await expect(cells().nth(2)).toHaveAttribute('title', '3. Sign off: current step');
});

test('after Move to the new version, the attendee sees it with their progress kept by step id', async () => {
  instructor.once('dialog', (d) => void d.accept());
  await instructor.getByRole('button', { name: 'Move to the new version' }).click();
  await expect(instructor.locator('main.dashboard > .form-message')).toHaveText('Moved to the new version of the lab.');
  await expect(instructor.getByRole('region', { name: 'Lab version' })).toBeHidden();
  await expect(cells()).toHaveCount(4);
  await expect(cells().nth(0)).toHaveAttribute('title', '1. Warm up: current step');
  await expect(cells().nth(1)).toHaveAttribute('title', '2. Leave a marker: done');
  await expect(cells().nth(3)).toHaveAttribute('title', '4. Write a greeting: done');
  await expect(instructor.getByRole('combobox', { name: 'Fault to fire' }).locator('option')).toHaveText(['The marker was lost (host0, step 2)']);

  // The attendee's page updates in place (no reload): the new order, the same steps done.
  await expect(titles()).toHaveText(['Warm up', 'Leave a marker', 'Sign off', 'Write a greeting'], { timeout: 15_000 });
  await expect(stepNamed('Warm up')).toHaveAttribute('data-state', 'open');
  await expect(stepNamed('Leave a marker')).toHaveAttribute('data-state', 'done');
  await expect(stepNamed('Write a greeting')).toHaveAttribute('data-state', 'done');
  await expect(stepNamed('Sign off')).toHaveAttribute('data-state', 'locked');
  await expect(ada.tab('host0')).toHaveAttribute('data-state', 'connected');

  // The new step is checked on the attendee's same host; then the next step to do follows the new order.
  await ada.typeInto('host0', 'echo warm > /tmp/zero');
  await expect(stepNamed('Warm up')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(stepNamed('Sign off')).toHaveAttribute('data-state', 'open');
  await ada.typeInto('host0', 'echo bye > /tmp/three');
  await expect(stepNamed('Sign off')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(lastReport('Sign off')).toHaveAttribute('data-state', 'pass');
  for (let i = 0; i < 4; i++) await expect(cells().nth(i)).toHaveClass(/done/);
});
