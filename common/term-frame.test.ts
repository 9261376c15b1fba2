import { describe, expect, it } from 'vitest';
import { encodeClientMessage, encodeServerMessage, parseClientFrame, parseServerFrame } from './protocol.ts';
import { TermFrameKind, allocTermData, decodeTermFrame, encodeTermFrame } from './term-frame.ts';

describe('terminal frames', () => {
  it('round-trip kind, channel (up to 1023) and raw bytes in a 3-byte header', () => {
    const data = new Uint8Array([0, 0xff, 0x1b, 0x5b]);
    const frame = encodeTermFrame(TermFrameKind.Output, 1023, data);
    expect([...frame]).toEqual([1, 0x03, 0xff, 0, 0xff, 0x1b, 0x5b]);
    expect(decodeTermFrame(frame)).toEqual({ ok: true, value: { kind: TermFrameKind.Output, channel: 1023, data } });
  });

  it('data made by allocTermData becomes a frame in place, without a copy; any other data is copied', () => {
    const data = allocTermData(3);
    data.set([0x68, 0x69, 0x0a]);
    const frame = encodeTermFrame(TermFrameKind.Output, 5, data);
    expect(frame.buffer).toBe(data.buffer);
    expect([...frame]).toEqual([1, 0, 5, 0x68, 0x69, 0x0a]);
    // The view equals any other view of the same bytes (what tests and consumers compare).
    expect(data).toEqual(new Uint8Array([0x68, 0x69, 0x0a]));
    // A view of part of it has no header room of its own: copied, and the original is left alone.
    const part = encodeTermFrame(TermFrameKind.Output, 6, data.subarray(1));
    expect(part.buffer).not.toBe(data.buffer);
    expect([...part]).toEqual([1, 0, 6, 0x69, 0x0a]);
    expect([...frame]).toEqual([1, 0, 5, 0x68, 0x69, 0x0a]);
  });

  it('term-output leaves the server as binary, control messages as JSON text', () => {
    expect(encodeServerMessage({ type: 'term-output', channel: 2, data: new Uint8Array([104, 105]) })).toEqual(new Uint8Array([1, 0, 2, 104, 105]));
    expect(encodeServerMessage({ type: 'term-state', channel: 2, state: 'connected' })).toBe('{"type":"term-state","channel":2,"state":"connected"}');
    const out = parseServerFrame(new Uint8Array([1, 0, 2, 104, 105]));
    expect(out.ok && out.value).toEqual({ type: 'term-output', channel: 2, data: new Uint8Array([104, 105]) });
  });

  it('term-input leaves the page as binary UTF-8 and is read back as the same message', () => {
    const frame = encodeClientMessage({ type: 'term-input', channel: 7, data: 'ls é😀\r' });
    expect(typeof frame).not.toBe('string');
    expect(parseClientFrame(frame as Uint8Array)).toEqual({ ok: true, value: { type: 'term-input', channel: 7, data: 'ls é😀\r' } });
    expect(encodeClientMessage({ type: 'term-ack', channel: 7, bytes: 5 })).toBe('{"type":"term-ack","channel":7,"bytes":5}');
  });

  it('refuses frames a client must not send, with the protocol error codes', () => {
    const code = (bytes: number[]): string | undefined => {
      const r = parseClientFrame(new Uint8Array(bytes));
      return r.ok ? undefined : r.error.code;
    };
    expect(code([])).toBe('invalid-message');
    expect(code([2, 0])).toBe('invalid-message');
    expect(code([7, 0, 0])).toBe('invalid-message');
    expect(code([1, 0, 0, 65])).toBe('invalid-message'); // output kind
    expect(code([2, 4, 0, 65])).toBe('invalid-message'); // channel 1024
    expect(code([2, 0, 0])).toBeUndefined(); // empty input is harmless
    expect(parseServerFrame(new Uint8Array([2, 0, 0, 65])).ok).toBe(false);
  });
});

describe('terminal input decoding', () => {
  it('reads short ASCII keys, control bytes and longer or non-ASCII input alike', () => {
    const read = (data: string): string | undefined => {
      const r = parseClientFrame(encodeClientMessage({ type: 'term-input', channel: 0, data }) as Uint8Array);
      return r.ok && r.value.type === 'term-input' ? r.value.data : undefined;
    };
    for (const data of ['x', '\x03', '\x1b[A', 'a'.repeat(64), 'b'.repeat(65), 'grüße', 'x'.repeat(60) + '✓']) expect(read(data)).toBe(data);
  });
});
