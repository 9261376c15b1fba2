import { describe, expect, it } from 'vitest';
import { TermFrameKind, encodeTermFrame } from '../../common/term-frame.ts';
import { BULK_BYTES, OutputBatcher, incompleteUtf8Tail } from './output-batcher.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const text = (frames: Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('utf8'));

describe('OutputBatcher', () => {
  it('never ends a frame inside a UTF-8 character split across SSH chunks (each frame decodes on its own)', async () => {
    const frames: Uint8Array[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    const bytes = Buffer.from('grüße ✓', 'utf8');
    // Split inside the three-byte check mark and inside the ü, a turn apart.
    let queued = b.push(bytes.subarray(0, 3));
    await tick();
    queued += b.push(bytes.subarray(3, bytes.length - 1));
    await tick();
    queued += b.push(bytes.subarray(bytes.length - 1));
    await tick();
    expect(text(frames)).toEqual(['gr', 'üße ', '✓']);
    expect(queued).toBe(bytes.length);
  });

  it('sends an echo as soon as the read that brought it is handled, not at the end of the event-loop turn', async () => {
    const frames: Uint8Array[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    // One socket read's worth: ssh2 hands its chunks over synchronously; the frame leaves in the microtask after it.
    b.push(Buffer.from('x'));
    b.push(Buffer.from('y'));
    expect(frames).toHaveLength(0);
    await Promise.resolve();
    expect(text(frames)).toEqual(['xy']);
    // The next read of the same turn gets a frame of its own, before any setImmediate (the turn's end) runs.
    let turnEnded = false;
    setImmediate(() => (turnEnded = true));
    b.push(Buffer.from('z'));
    await Promise.resolve();
    expect(turnEnded).toBe(false);
    expect(text(frames)).toEqual(['xy', 'z']);
  });

  it("sends a flood's reads of one event-loop turn as one frame", async () => {
    const frames: Uint8Array[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    const packet = Buffer.alloc(BULK_BYTES * 4, 'a');
    // Three reads of 32 KiB packets in one turn (a microtask checkpoint after each read).
    for (let i = 0; i < 3; i++) {
      b.push(packet);
      await Promise.resolve();
    }
    expect(frames).toHaveLength(0);
    await tick();
    expect(frames.map((f) => f.length)).toEqual([packet.length * 3]);
  });

  it('sends the chunks of one read as one binary frame, counted in bytes', async () => {
    const frames: Uint8Array[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    let queued = 0;
    for (let i = 0; i < 50; i++) queued += b.push(Buffer.from(`line ${i}\n`));
    await tick();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(queued);
    // Sent as term-output, the batch becomes its frame without another copy of the output.
    const frame = encodeTermFrame(TermFrameKind.Output, 5, frames[0]!);
    expect(frame.buffer).toBe(frames[0]!.buffer);
    expect([...frame.subarray(0, 3)]).toEqual([TermFrameKind.Output, 0, 5]);
    expect(text(frames)[0]).toContain('line 0\n');
    expect(text(frames)[0]).toContain('line 49\n');
  });

  it('drops an incomplete character left by a channel that went away', async () => {
    const frames: Uint8Array[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    expect(b.push(Buffer.from([0xe2, 0x9c]))).toBe(0); // first two bytes of ✓
    b.restart();
    b.push(Buffer.from('ok'));
    await tick();
    expect(text(frames)).toEqual(['ok']);
  });

  it('finds the incomplete tail of 1- to 4-byte characters', () => {
    const four = Buffer.from('😀');
    expect([1, 2, 3].map((n) => incompleteUtf8Tail(four.subarray(0, n)))).toEqual([1, 2, 3]);
    expect(incompleteUtf8Tail(four)).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from('abc'))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from('é'))).toBe(0);
    expect(incompleteUtf8Tail(Buffer.from([0x80, 0x80, 0x80, 0x80]))).toBe(0); // not UTF-8: sent as it is
  });
});
