import { describe, expect, it } from 'vitest';
import { OutputBatcher } from './output-batcher.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('OutputBatcher', () => {
  it('decodes a UTF-8 character split across two SSH chunks', async () => {
    const frames: string[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    const bytes = Buffer.from('grüße ✓', 'utf8');
    // Split inside the three-byte check mark and inside the ü.
    b.push(bytes.subarray(0, 3));
    b.push(bytes.subarray(3, bytes.length - 1));
    b.push(bytes.subarray(bytes.length - 1));
    await tick();
    expect(frames.join('')).toBe('grüße ✓');
    expect(frames.join('')).not.toContain('\uFFFD');
  });

  it('sends the chunks of one event-loop turn as one frame', async () => {
    const frames: string[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    for (let i = 0; i < 50; i++) b.push(Buffer.from(`line ${i}\n`));
    await tick();
    expect(frames).toHaveLength(1);
    expect(frames[0]).toContain('line 0\n');
    expect(frames[0]).toContain('line 49\n');
  });

  it('drops an incomplete character left by a channel that went away', async () => {
    const frames: string[] = [];
    const b = new OutputBatcher((d) => frames.push(d));
    b.push(Buffer.from([0xe2, 0x9c])); // first two bytes of ✓
    b.restart();
    b.push(Buffer.from('ok'));
    await tick();
    expect(frames.join('')).toBe('ok');
  });
});
