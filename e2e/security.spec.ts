// Security at the edges, against the real server: no API or WebSocket without a session, no
// foreign-Origin WebSocket, malformed frames answered without harm, and lab text that cannot
// inject markup or script into the page.
import { expect, test } from '@playwright/test';
import { WebSocket } from 'ws';
import { e2eBaseUrl, e2eOrigin } from './e2e-env.ts';

const wsUrl = (): string => `${e2eBaseUrl().replace('http', 'ws')}ws`;

test('the API answers 401 without a session cookie', async ({ playwright }) => {
  const api = await playwright.request.newContext({ baseURL: e2eBaseUrl() });
  try {
    for (const path of ['api/labs', 'api/labs/etcd']) {
      const res = await api.get(path);
      expect(res.status()).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
  } finally {
    await api.dispose();
  }
});

/** Opens a WebSocket from Node with the given headers; resolves with the HTTP status of a refusal or 101. */
function upgradeStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', reject);
  });
}

test('a WebSocket from a foreign Origin is refused, even with a valid session', async ({ page }) => {
  await page.goto('./');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'labwright_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Strict');
  const cookie = `labwright_session=${session!.value}`;
  expect(await upgradeStatus({ Cookie: cookie, Origin: 'http://evil.example' })).toBe(403);
  expect(await upgradeStatus({ Origin: e2eOrigin() })).toBe(401);
  expect(await upgradeStatus({ Cookie: cookie, Origin: e2eOrigin() })).toBe(101);
});

test('a malformed WebSocket message gets an error reply and the connection stays usable', async ({ page }) => {
  await page.goto('./');
  // window.WebSocket: the browser's, not the ws package imported above for Node-side sockets.
  const replies = await page.evaluate(async () => {
    const ws = new window.WebSocket(new URL('ws', document.baseURI).href.replace(/^http/, 'ws'));
    const inbox: string[] = [];
    const waiters: ((m: string) => void)[] = [];
    ws.onmessage = (ev: MessageEvent) => {
      const data = String(ev.data);
      const w = waiters.shift();
      if (w) w(data);
      else inbox.push(data);
    };
    const next = (): Promise<string> => new Promise((resolve) => (inbox.length > 0 ? resolve(inbox.shift()!) : waiters.push(resolve)));
    await new Promise((resolve) => (ws.onopen = resolve));
    const out: unknown[] = [];
    ws.send(JSON.stringify({ type: 'hello', version: 2, labId: 'etcd' }));
    out.push(JSON.parse(await next()));
    ws.send('{"type": "term-input", oops');
    // Skip anything features send on connect (progress, environment status) until the reply.
    let reply: { type: string; code?: string };
    do reply = JSON.parse(await next()) as typeof reply;
    while (reply.type !== 'error');
    out.push(reply);
    ws.send(JSON.stringify({ type: 'no-such-thing' }));
    do reply = JSON.parse(await next()) as typeof reply;
    while (reply.type !== 'error');
    out.push(reply);
    out.push(ws.readyState === window.WebSocket.OPEN);
    ws.close();
    return out;
  });
  expect(replies[0]).toMatchObject({ type: 'welcome', labId: 'etcd' });
  expect(replies[1]).toMatchObject({ type: 'error', code: 'bad-json' });
  expect(replies[2]).toMatchObject({ type: 'error', code: 'invalid-message' });
  expect(replies[3]).toBe(true);
});

test('script and markup in lab text are shown as text and never run', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('./');
  const card = page.locator('.lab-card[data-lab="xss"]');
  await expect(card).toContainText("Markup <script>window.__xss = 'title'</script> in a lab");
  await expect(card).toContainText('<img src=x onerror=');
  await card.getByRole('link').click();
  await expect(page.locator('.lab-title')).toContainText('<script>');
  const step = page.locator('.step[data-step="0"]');
  await expect(step.locator('.step-title')).toContainText('<b>markup</b>');
  await expect(step.locator('.run-block code')).toContainText("<script>window.__xss = 'run'</script>");
  await step.locator('details.hint summary').click();
  await page.locator('.lab-pane').hover();
  // Nothing from the lab became an element with a handler, a script, or a javascript: link.
  expect(await page.locator('.lab-pane script, .lab-pane [onerror], .lab-pane [onmouseover], .lab-pane img').count()).toBe(0);
  expect(await page.locator('.lab-pane a[href^="javascript:"]').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
  expect(errors).toEqual([]);
});
