// The HTTP side of the server: sessions from the page load, 401 without one, the lab API,
// security headers, error bodies without stack traces, and everything under a base path.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabSummary } from '../common/lab.ts';
import { StaticLabViews } from './testing/static-lab-views.ts';
import { sampleLabView } from './testing/test-labs.ts';
import type { TestServer } from './testing/test-server.ts';
import { TestSocket, sessionCookie, startTestServer } from './testing/test-server.ts';

const broken: LabSummary = {
  id: 'broken',
  ok: false,
  title: 'Broken',
  problems: [{ file: 'labs/broken/lab.md', line: 3, message: 'unknown block kind "runn"', severity: 'error' }],
};

let clientDir: string;
beforeAll(() => {
  clientDir = mkdtempSync(path.join(os.tmpdir(), 'labwright-client-'));
  writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>Labwright</title>');
  mkdirSync(path.join(clientDir, 'assets'));
  writeFileSync(path.join(clientDir, 'assets', 'app.js'), 'export {};');
});
afterAll(() => rmSync(clientDir, { recursive: true, force: true }));

for (const basePath of ['/', '/labwright/']) {
  describe(`server under ${basePath}`, () => {
    let t: TestServer;
    let cookie: string;
    beforeAll(async () => {
      t = await startTestServer({ basePath, clientDir, labs: new StaticLabViews([sampleLabView()], [broken]) });
      cookie = await sessionCookie(t.server.url);
    });
    afterAll(() => t.server.close());
    const api = (p: string, headers: Record<string, string> = { Cookie: cookie }): Promise<Response> =>
      fetch(new URL(`api/${p}`, t.server.url), { headers });

    it('serves the page at the base path and sets a strict session cookie', async () => {
      expect(t.server.url.endsWith(basePath)).toBe(true);
      const res = await fetch(t.server.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>Labwright</title>');
      const set = res.headers.get('set-cookie') ?? '';
      expect(set).toMatch(/^labwright_session=[A-Za-z0-9_-]{43}; /);
      expect(set).toContain(`Path=${basePath}`);
      expect(set).toContain('HttpOnly');
      expect(set).toContain('SameSite=Strict');
    });

    it('keeps the session of a returning visitor', async () => {
      const res = await fetch(t.server.url, { headers: { Cookie: cookie } });
      expect(res.headers.get('set-cookie')).toBeNull();
    });

    it('serves the built assets', async () => {
      const res = await fetch(new URL('assets/app.js', t.server.url));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('export {};');
    });

    it('sends security headers', async () => {
      const res = await fetch(t.server.url);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('answers API calls without a session with 401 JSON', async () => {
      for (const p of ['labs', 'labs/demo']) {
        const res = await api(p, {});
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
      const forged = await api('labs', { Cookie: 'labwright_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      expect(forged.status).toBe(401);
    });

    it('lists working and broken labs', async () => {
      const res = await api('labs');
      expect(res.status).toBe(200);
      const list = (await res.json()) as LabSummary[];
      expect(list.map((l) => [l.id, l.ok])).toEqual([
        ['demo', true],
        ['broken', false],
      ]);
    });

    it('returns a lab view, and clear errors for unknown, broken and malformed ids', async () => {
      const ok = await api('labs/demo');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual(sampleLabView());
      expect((await api('labs/nope')).status).toBe(404);
      expect((await api('labs/broken')).status).toBe(409);
      const bad = await api('labs/..%2Fetc');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: { code: 'bad-request', message: 'id: a lab id is lower-case letters, digits and dashes' } });
    });

    it('answers health without a session', async () => {
      const res = await api('health', {});
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('answers malformed requests without a stack trace', async () => {
      const res = await fetch(new URL('api/labs/%E0%A4%A', t.server.url), { headers: { Cookie: cookie } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.text()).not.toMatch(/at .*\.ts:\d+/);
    });

    it('accepts the WebSocket at the base path', async () => {
      const s = new TestSocket(`${t.server.url.replace('http', 'ws')}ws`, { Cookie: cookie, Origin: t.origin });
      await s.opened;
      s.close();
      await s.closed;
    });
  });
}

describe('server under a sub-path', () => {
  it('redirects the bare base path to the one with a slash, and serves nothing outside it', async () => {
    const t = await startTestServer({ basePath: '/labwright/', clientDir });
    try {
      const res = await fetch(`${t.origin}/labwright`, { redirect: 'manual' });
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe('/labwright/');
      expect((await fetch(`${t.origin}/`)).status).toBe(404);
      expect((await fetch(`${t.origin}/api/labs`)).status).toBe(404);
    } finally {
      await t.server.close();
    }
  });
});
