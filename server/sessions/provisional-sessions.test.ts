import { describe, expect, it } from 'vitest';
import { ProvisionalSessions } from './provisional-sessions.ts';

describe('ProvisionalSessions', () => {
  it('keeps at most max sessions, dropping the least recently used', () => {
    const p = new ProvisionalSessions(2, 60_000);
    p.add({ id: 'a', createdAt: 0 });
    p.add({ id: 'b', createdAt: 0 });
    expect(p.get('a')?.id).toBe('a');
    p.add({ id: 'c', createdAt: 0 });
    expect(p.size).toBe(2);
    expect(p.get('b')).toBeUndefined();
    expect(p.get('a')?.id).toBe('a');
    expect(p.get('c')?.id).toBe('c');
  });

  it('forgets a session unused for longer than the idle time', () => {
    let t = 0;
    const p = new ProvisionalSessions(10, 1000, () => t);
    p.add({ id: 'a', createdAt: 0 });
    t = 900;
    expect(p.get('a')).toBeDefined();
    t = 1800;
    expect(p.peek('a')).toBeDefined();
    t = 2000;
    expect(p.get('a')).toBeUndefined();
    expect(p.size).toBe(0);
  });
});
