// Previews in real Chromium against `labwright serve` and a real host: the attendee's "Open preview"
// button waits until the port answers, then opens the service in a new tab on its own
// `*.preview.localhost` origin — where absolute paths (/style.css, /other.html) work — and another
// attendee's browser gets a clear refusal for that preview's address and its used link.
import type { Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import { docsScreenshotsWanted, saveDocsScreenshot } from './docs-screenshot.ts';
import { OwnServer } from './own-server.ts';

test.setTimeout(300_000);

const TITLE = 'Preview drill';
// nginx on host0 serves a small site on port 8080 once the attendee runs the step's block; the home
// page links its stylesheet and its second page by absolute paths.
const LAB = `---
title: ${TITLE}
summary: A web page on a lab host, opened as a preview, for the previews end-to-end test.
hosts: [host0]
services: { etcd: none, docker: false }
---
Serve a small site on host0 and open it.

\`\`\`preview host0:8080
the drill site
\`\`\`

## Serve the site

\`\`\`run host0
mkdir -p /srv/site && printf '<!doctype html><title>Drill home</title><link rel="stylesheet" href="/style.css"><h1>Preview drill home</h1><a href="/other.html">Other page</a>\\n' > /srv/site/index.html && printf 'h1 { color: rgb(0, 128, 0); }\\n' > /srv/site/style.css && printf '<!doctype html><title>Drill other</title><p>The other page, by an absolute link</p>\\n' > /srv/site/other.html && printf 'server { listen 8080; root /srv/site; }\\n' > /etc/nginx/sites-enabled/drill && systemctl restart nginx && echo SITE-UP
\`\`\`

\`\`\`check
file: { on: host0, path: /srv/site/index.html, contains: Preview drill home }
\`\`\`

\`\`\`solve host0
true
\`\`\`
`;

let server: OwnServer;

test.afterAll(async () => {
  await server?.stop();
});

/** One picture of the lab page and the open preview side by side, drawn in a scratch page. */
async function sideBySide(lab: Page, preview: Page): Promise<Page> {
  const [left, right] = [await lab.screenshot(), await preview.screenshot()];
  const canvas = await lab.context().newPage();
  await canvas.setViewportSize({ width: 1600, height: 524 });
  // Each half is captioned with its tab's address (a screenshot has no address bar).
  const half = (b: Buffer, url: string) =>
    `<figure style="margin:0;width:50%"><figcaption style="font:13px sans-serif;padding:4px 8px;background:#eee">${url}</figcaption><img src="data:image/png;base64,${b.toString('base64')}" style="width:100%;display:block"></figure>`;
  await canvas.setContent(`<body style="margin:0;display:flex;gap:8px;background:#888">${half(left, lab.url())}${half(right, preview.url())}</body>`);
  return canvas;
}

test('preview: disabled until the port answers, opens on its own origin with absolute paths working, refused to another attendee', async ({ browser }) => {
  server = await OwnServer.start({ 'preview-drill': LAB });
  const page = await server.newPage(browser);
  const entryLinks: string[] = [];
  page.context().on('request', (r) => {
    if (r.url().includes('ticket=')) entryLinks.push(r.url());
  });
  await page.goto(`${server.base}#/labs/preview-drill`);
  await expect(page.locator('.lab-title')).toHaveText(TITLE);
  await expect(page.locator('.term-tab[data-host="host0"]')).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });

  // Nothing listens on 8080 yet: the button is there but disabled, and says why.
  const open = page.getByRole('button', { name: 'Open preview: host0:8080' });
  await expect(open).toBeVisible();
  await expect(open).toBeDisabled();
  await expect(page.getByText('host0:8080 is not answering yet')).toBeVisible({ timeout: 30_000 });

  await page.getByRole('button', { name: 'Run on host0' }).click();
  await expect(open).toBeEnabled({ timeout: 60_000 });

  const [preview] = await Promise.all([page.context().waitForEvent('page'), open.click()]);
  await preview.waitForLoadState();
  const origin = new URL(preview.url());
  expect(origin.hostname).toMatch(/^[a-z0-9-]+\.preview\.localhost$/);
  expect(origin.origin).not.toBe(new URL(server.base).origin);
  await expect(preview.getByRole('heading', { name: 'Preview drill home' })).toBeVisible();
  // /style.css, asked for by an absolute path, came from the service on the preview's origin.
  await expect(preview.getByRole('heading', { name: 'Preview drill home' })).toHaveCSS('color', 'rgb(0, 128, 0)');
  if (docsScreenshotsWanted()) await saveDocsScreenshot(await sideBySide(page, preview), 'screenshot-preview.png');
  await preview.getByRole('link', { name: 'Other page' }).click();
  await expect(preview.getByText('The other page, by an absolute link')).toBeVisible();
  expect(new URL(preview.url()).origin).toBe(origin.origin);
  expect(new URL(preview.url()).pathname).toBe('/other.html');

  // Another attendee (their own browser, their own session) is refused that preview, and its link.
  const other = await server.newPage(browser);
  await other.goto(server.base);
  const refused = await other.goto(`${origin.origin}/`);
  expect(refused?.status()).toBe(403);
  await expect(other.getByText('Not your preview')).toBeVisible();
  await expect(other.getByText('Previews open only for the attendee whose lab hosts run the service')).toBeVisible();
  await expect(other.getByText('The other page')).toHaveCount(0);
  expect(entryLinks).toHaveLength(1);
  const reused = await other.goto(entryLinks[0]!);
  expect(reused?.status()).toBe(403);
  await expect(other.getByText('This preview link has expired')).toBeVisible();
});
