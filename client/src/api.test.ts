// The page's one API client against a stand-in fetch: URLs under the page's base with each path
// parameter encoded, JSON bodies, 204s, and error answers turned into a message a page can show.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createWorkshop, fetchLabs, logout, resetAttendee } from './api.ts';

let calls: { url: string; init: RequestInit }[];
let answer: () => Response;

beforeEach(() => {
  calls = [];
  vi.stubGlobal('document', { baseURI: 'https://labs.example/lw/#/instructor' });
  vi.stubGlobal('fetch', (url: URL, init: RequestInit) => {
    calls.push({ url: url.toString(), init });
    return Promise.resolve(answer());
  });
});
afterEach(() => vi.unstubAllGlobals());

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('the API client', () => {
  it('calls the route under the page base, each parameter encoded, and returns the answer', async () => {
    answer = () => json(200, []);
    expect(await fetchLabs()).toEqual([]);
    answer = () => new Response(null, { status: 204 });
    expect(await resetAttendee('w1', 'a/../x')).toBeUndefined();
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ['GET', 'https://labs.example/lw/api/labs'],
      ['POST', 'https://labs.example/lw/api/workshops/w1/attendees/a%2F..%2Fx/reset'],
    ]);
  });

  it('sends a body as JSON only when the route has one', async () => {
    answer = () => json(201, { id: 'w1' });
    await createWorkshop({ labId: 'etcd', capacity: 3, minutes: 60 });
    expect(calls[0]!.init.body).toBe('{"labId":"etcd","capacity":3,"minutes":60}');
    expect(calls[0]!.init.headers).toMatchObject({ 'Content-Type': 'application/json' });
    answer = () => new Response(null, { status: 204 });
    await logout();
    expect(calls[1]!.init.body).toBeUndefined();
  });

  it('turns an error body into an ApiError with its code and message', async () => {
    answer = () => json(400, { error: { code: 'bad-request', message: 'capacity: capacity must be a whole number from 1 to 200' } });
    const e = await createWorkshop({ labId: 'etcd', capacity: 0, minutes: 60 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, code: 'bad-request', message: 'capacity: capacity must be a whole number from 1 to 200' });
  });

  it('says what happened when the answer is not an error body (a proxy page)', async () => {
    answer = () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    await expect(fetchLabs()).rejects.toMatchObject({ status: 502, code: 'http', message: 'the server answered 502 Bad Gateway' });
  });
});
