// The instructor login route over real HTTP: wrong credentials count per address, and past the
// limit even the right one waits (429 with Retry-After) — a guess that happens to be right
// must not get through a flood.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { authRoutes } from './auth-routes.ts';
import { instructorCredential } from './instructor-credential.ts';
import { LoginThrottle } from './login-throttle.ts';

const TOKEN = 'the-instructor-token-0123456789';
let dir: string;
let store: DurableStore;
let url: string;
let close: () => void;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'labwright-auth-'));
  store = openDurableStore(dir);
  const app = express();
  const throttle = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, maxAddresses: 100 });
  app.use('/api', authRoutes({ sessions: store.sessions, credential: instructorCredential(TOKEN), basePath: '/', log: logger('test'), throttle }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/instructor/login`;
  close = () => server.close();
});

afterAll(() => {
  close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const login = (token: string): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });

// First: the login test below uses up this address's allowance of wrong credentials.
describe('instructor logout', () => {
  it('ends the instructor session (cookie refused at once, row gone) and leaves other sessions alone', async () => {
    const res = await login(TOKEN);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const me = async (c: string): Promise<unknown> => (await fetch(url.replace('/login', '/me'), { headers: { Cookie: c } })).json();
    expect(await me(cookie)).toEqual({ instructor: true });
    const solo = store.sessions.createSync('solo');
    const out = await fetch(url.replace('/login', '/logout'), { method: 'POST', headers: { Cookie: `labwright_session=${solo.id}` } });
    expect(out.status).toBe(204);
    expect(store.sessions.record(solo.id)).toBeDefined();
    const bye = await fetch(url.replace('/login', '/logout'), { method: 'POST', headers: { Cookie: cookie } });
    expect(bye.status).toBe(204);
    expect(bye.headers.get('set-cookie')).toMatch(/^labwright_session=; Path=\/; HttpOnly; SameSite=Strict.*; Max-Age=0$/);
    expect(await me(cookie)).toEqual({ instructor: false });
    expect(store.sessions.record(cookie.split('=')[1]!)).toBeUndefined();
  });
});

describe('instructor login bodies', () => {
  it('a body that is not {"token": string} is refused with 400 naming the field, and is not counted as a guess', async () => {
    const post = (body: string, type = 'application/json'): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
    const cases: [Response, RegExp][] = [
      [await post(JSON.stringify({ token: 42 })), /^token: /],
      [await post(JSON.stringify({})), /^token: /],
      [await post(JSON.stringify({ token: 'x'.repeat(600) })), /^token: the credential is at most 512 characters$/],
      [await post('{"token": '), /^body: not valid JSON$/],
      [await post('token=abc', 'application/x-www-form-urlencoded'), /^body: send a JSON object/],
    ];
    for (const [res, message] of cases) {
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('bad-request');
      expect(body.error.message).toMatch(message);
    }
    const huge = await post(JSON.stringify({ token: 'x'.repeat(10_000) }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ error: { code: 'too-large', message: 'the request body is larger than 4096 bytes' } });
    // None of them used up this address's allowance: the right credential still gets in.
    expect((await login(TOKEN)).status).toBe(204);
  });
});

describe('instructor login', () => {
  it('accepts the credential, refuses a wrong one, and stops an address that keeps guessing', async () => {
    expect((await login(TOKEN)).status).toBe(204);
    for (let i = 0; i < 3; i++) expect((await login(`guess-${i}`)).status).toBe(401);
    const refused = await login(TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too-many-attempts');
    expect(body.error.message).toMatch(/try again in \d+ s/);
  });
});
