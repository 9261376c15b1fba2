// The WebSocket gateway against a real server on an ephemeral port: handshake, refusals before
// the upgrade, bad frames answered without harm to the connection or its neighbours, and routing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../common/protocol.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { TestServer } from '../testing/test-server.ts';
import { TestSocket, sessionCookie, startTestServer } from '../testing/test-server.ts';
import type { GatewayModule } from './gateway-module.ts';
import { buildHandlerTable } from './gateway-module.ts';

const hello = { type: 'hello', version: PROTOCOL_VERSION, labId: 'demo' };

describe('gateway', () => {
  let t: TestServer;
  let cookie: string;
  let wsUrl: string;
  const sockets: TestSocket[] = [];

  const open = (headers: Record<string, string> = { Cookie: cookie, Origin: t.origin }): TestSocket => {
    const s = new TestSocket(wsUrl, headers);
    s.opened.catch(() => undefined);
    sockets.push(s);
    return s;
  };
  const ready = async (): Promise<TestSocket> => {
    const s = open();
    await s.opened;
    s.send(hello);
    expect(await s.next()).toMatchObject({ type: 'welcome', version: PROTOCOL_VERSION, labId: 'demo' });
    return s;
  };

  beforeEach(async () => {
    t = await startTestServer();
    cookie = await sessionCookie(t.server.url);
    wsUrl = `${t.server.url.replace('http', 'ws')}ws`;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await t.server.close();
  });

  it('welcomes a hello with the protocol version and the lab', async () => {
    const s = await ready();
    expect(s.ws.readyState).toBe(s.ws.OPEN);
  });

  it('refuses a foreign Origin with 403 before upgrading', async () => {
    const s = open({ Cookie: cookie, Origin: 'http://evil.example' });
    await expect(s.opened).rejects.toThrow('HTTP 403');
  });

  it('refuses a missing Origin', async () => {
    const s = open({ Cookie: cookie });
    await expect(s.opened).rejects.toThrow('HTTP 403');
  });

  it('refuses a connection without a session with 401', async () => {
    await expect(open({ Origin: t.origin }).opened).rejects.toThrow('HTTP 401');
    await expect(open({ Origin: t.origin, Cookie: 'labwright_session=forged' }).opened).rejects.toThrow('HTTP 401');
  });

  it('refuses upgrades on other paths', async () => {
    const s = new TestSocket(`${wsUrl}x`, { Cookie: cookie, Origin: t.origin });
    sockets.push(s);
    await expect(s.opened).rejects.toThrow('HTTP 404');
  });

  it('closes with VersionMismatch (no retry) on a wrong protocol version', async () => {
    const s = open();
    await s.opened;
    s.send({ ...hello, version: PROTOCOL_VERSION + 1 });
    expect((await s.closed).code).toBe(CloseCode.VersionMismatch);
  });

  it('closes with VersionMismatch when the first message is not hello', async () => {
    const s = open();
    await s.opened;
    s.send({ type: 'check-run', step: 0 });
    expect((await s.closed).code).toBe(CloseCode.VersionMismatch);
  });

  it('closes with NotFound for an unknown lab', async () => {
    const s = open();
    await s.opened;
    s.send({ ...hello, labId: 'nope' });
    expect((await s.closed).code).toBe(CloseCode.NotFound);
  });

  it('answers bad frames with an error and stays usable', async () => {
    const s = await ready();
    s.send('{not json');
    expect(await s.next()).toMatchObject({ type: 'error', code: 'bad-json' });
    s.send({ type: 'launch-missiles' });
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    s.send({ type: 'term-resize', channel: 0, cols: 'wide', rows: 3 });
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    s.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    expect(await s.next()).toMatchObject({ type: 'error', code: 'too-large' });
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    s.send(hello);
    expect(await s.next()).toMatchObject({ type: 'error', code: 'invalid-message', ref: 'hello' });
    // Still routed normally afterwards.
    s.send({ type: 'check-run', step: 0 });
    expect(await s.next()).toMatchObject({ type: 'error', code: 'not-ready', ref: 'check-run' });
  });

  it('does not let one connection’s bad frames affect another', async () => {
    const a = await ready();
    const b = await ready();
    a.send('garbage');
    expect(await a.next()).toMatchObject({ code: 'bad-json' });
    b.send({ type: 'term-close', channel: 1 });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'not-ready', ref: 'term-close' });
  });

  it('closes a connection whose frame exceeds the hard limit', async () => {
    const s = await ready();
    s.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES * 5));
    expect((await s.closed).code).toBe(1009);
  });

  it('sends lab-changed to pages of that lab only', async () => {
    t.labs.update(sampleLabView('other', 'Other'));
    const s = await ready();
    t.labs.update(sampleLabView('other', 'Other v2'));
    t.labs.update(sampleLabView('demo', 'Demo v2'));
    expect(await s.next()).toEqual({ type: 'lab-changed', labId: 'demo' });
  });

  it('unsubscribes from lab changes when the connection closes', async () => {
    const before = t.labs.listenerCount;
    const s = await ready();
    expect(t.labs.listenerCount).toBe(before + 1);
    s.close();
    await s.closed;
    await expect.poll(() => t.labs.listenerCount).toBe(before);
  });
});

describe('gateway modules', () => {
  it('route their message types, run onConnect, and clean up on close', async () => {
    const events: string[] = [];
    const mod: GatewayModule = {
      name: 'echo',
      onConnect(ctx) {
        events.push(`connect ${ctx.labId}`);
        ctx.onClose(() => {
          events.push('cleanup');
        });
      },
      handlers: {
        'term-input': (ctx, msg) => ctx.send({ type: 'term-output', channel: msg.channel, data: Buffer.from(msg.data.toUpperCase()) }),
        'term-close': () => Promise.reject(new Error('boom')),
      },
    };
    const t = await startTestServer({ modules: [{ ...mod, close: () => void events.push('module closed') }] });
    try {
      const cookie = await sessionCookie(t.server.url);
      const s = new TestSocket(`${t.server.url.replace('http', 'ws')}ws`, { Cookie: cookie, Origin: t.origin });
      await s.opened;
      s.send(hello);
      expect(await s.next()).toMatchObject({ type: 'welcome' });
      s.send({ type: 'term-input', channel: 2, data: 'ls' });
      const out = await s.next();
      expect(out.type === 'term-output' ? { channel: out.channel, text: Buffer.from(out.data).toString() } : out).toEqual({ channel: 2, text: 'LS' });
      s.send({ type: 'term-close', channel: 2 });
      expect(await s.next()).toMatchObject({ type: 'error', code: 'internal', ref: 'term-close' });
      s.send({ type: 'term-input', channel: 2, data: 'ok' });
      const ok = await s.next();
      expect(ok.type === 'term-output' && Buffer.from(ok.data).toString()).toBe('OK');
      s.close();
      await s.closed;
      await expect.poll(() => events).toEqual(['connect demo', 'cleanup']);
    } finally {
      await t.server.close();
    }
    expect(events).toEqual(['connect demo', 'cleanup', 'module closed']);
  });

  it('closes connections with ServerShutdown (retryable) when the server stops', async () => {
    const t = await startTestServer();
    const cookie = await sessionCookie(t.server.url);
    const s = new TestSocket(`${t.server.url.replace('http', 'ws')}ws`, { Cookie: cookie, Origin: t.origin });
    await s.opened;
    await t.server.close();
    expect((await s.closed).code).toBe(CloseCode.ServerShutdown);
  });

  it('refuses two modules handling the same message type', () => {
    const a: GatewayModule = { name: 'a', handlers: { 'check-run': () => undefined } };
    const b: GatewayModule = { name: 'b', handlers: { 'check-run': () => undefined } };
    expect(() => buildHandlerTable([a, b])).toThrow('"a" and "b" both handle "check-run"');
  });
});
