// Hostile: malformed binary WebSocket frames (terminal input's wire form, common/term-frame.ts)
// against the real server over real WebSockets: each gets an error reply, the connection and every
// other one keep working, and nothing reaches a terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../common/protocol.ts';
import { MAX_TERM_INPUT, TermFrameKind, encodeTermFrame } from '../../common/term-frame.ts';
import type { TestServer } from '../testing/test-server.ts';
import { TestSocket, sessionCookie, startTestServer } from '../testing/test-server.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';

/** Stands in for the terminals: echoes each term-input as term-output, and records what reached it. */
const typed: string[] = [];
const echo: GatewayModule = {
  name: 'echo-terminal',
  handlers: {
    'term-input': (ctx, msg) => {
      typed.push(msg.data);
      ctx.send({ type: 'term-output', channel: msg.channel, data: Buffer.from(`<${msg.data}>`) });
    },
  },
};

const input = (channel: number, text: string): Buffer => Buffer.from(encodeTermFrame(TermFrameKind.Input, channel, Buffer.from(text)));

describe('hostile: malformed binary frames', () => {
  let t: TestServer;
  let cookie: string;
  beforeAll(async () => {
    t = await startTestServer({ modules: [echo] });
    cookie = await sessionCookie(t.server.url);
  });
  afterAll(() => t.server.close());

  const open = async (): Promise<TestSocket> => {
    const s = new TestSocket(`${t.server.url.replace('http', 'ws')}ws`, { Cookie: cookie, Origin: t.origin });
    await s.opened;
    s.send({ type: 'hello', version: PROTOCOL_VERSION, labId: 'demo' });
    expect(await s.next()).toMatchObject({ type: 'welcome' });
    return s;
  };
  const echoed = async (s: TestSocket, channel: number, text: string): Promise<void> => {
    s.ws.send(input(channel, text), { binary: true });
    const m = await s.until((x) => (x.type === 'term-output' ? x : undefined));
    expect({ channel: m.channel, text: Buffer.from(m.data).toString() }).toEqual({ channel, text: `<${text}>` });
  };

  it('short, unknown-kind, server-kind, out-of-range channel, oversized and too-long frames → an error reply each, the socket and another one keep serving', async () => {
    const s = await open();
    const other = await open();
    await echoed(s, 3, 'ls');
    typed.length = 0;
    const bad: [string, Buffer, string][] = [
      ['empty', Buffer.alloc(0), 'invalid-message'],
      ['header cut short', Buffer.from([TermFrameKind.Input, 0]), 'invalid-message'],
      ['unknown kind', Buffer.from([0xff, 0, 1, 0x41]), 'invalid-message'],
      ['output kind from a client', Buffer.from([TermFrameKind.Output, 0, 1, 0x41]), 'invalid-message'],
      ['channel 65535', Buffer.from([TermFrameKind.Input, 0xff, 0xff, 0x41]), 'invalid-message'],
      ['larger than a client message', input(1, 'x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1)), 'too-large'],
      ['more characters than term-input holds', input(1, 'x'.repeat(MAX_TERM_INPUT + 1)), 'invalid-message'],
    ];
    for (const [what, frame, code] of bad) {
      s.ws.send(frame, { binary: true });
      expect(await s.next(), what).toMatchObject({ type: 'error', code, ref: 'term-input' });
    }
    expect(typed).toEqual([]);
    // Bytes that are not UTF-8 are not an attack on anything: they reach the terminal replaced.
    s.ws.send(Buffer.from([TermFrameKind.Input, 0, 1, 0xff, 0x41]), { binary: true });
    expect(await s.next()).toMatchObject({ type: 'term-output', channel: 1 });
    expect(typed).toEqual(['\uFFFDA']);
    await echoed(s, 1, 'still here');
    await echoed(other, 2, 'unaffected');
    s.close();
    other.close();
  });
});
