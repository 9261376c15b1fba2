import { describe, expect, it } from 'vitest';
import { BootQueue, defaultBootConcurrency, queuedProvider } from './boot-queue.ts';
import type { EnvironmentSpec } from './provider.ts';
import { FakeProvider } from './testing/fake-provider.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const spec = (owner: string): EnvironmentSpec => ({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner });

describe('boot queue', () => {
  it('boots at most `concurrency` environments at once and hands them out in order of arrival', async () => {
    const p = new FakeProvider({ holdCreates: true });
    const booter = queuedProvider(p, new BootQueue(2));
    const done: string[] = [];
    const joins = ['a', 'b', 'c', 'd', 'e'].map((who) => booter.create(spec(who)).then((env) => done.push(env.spec.owner ?? '')));
    await tick();
    // Two boots started, in arrival order; the other three wait.
    expect(p.created.map((s) => s.owner)).toEqual(['a', 'b']);
    expect(p.held).toBe(2);
    for (let i = 0; i < 5; i++) {
      p.finishOne();
      await tick();
      await tick();
      expect(p.held).toBeLessThanOrEqual(2);
    }
    await Promise.all(joins);
    expect(p.created.map((s) => s.owner)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(done).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('starts a waiting attendee before waiting pool refills, and says how many boots are ahead', async () => {
    const p = new FakeProvider({ holdCreates: true });
    const queue = new BootQueue(1);
    const attendee = queuedProvider(p, queue, 'attendee');
    const refill = queuedProvider(p, queue, 'refill');
    const ahead: number[] = [];
    const first = attendee.create(spec('first'));
    const r1 = refill.create(spec('refill-1'));
    const r2 = refill.create(spec('refill-2'));
    const late = attendee.create(spec('late'), { onProgress: (pr) => ahead.push(Number(/(\d+) environment/.exec(pr.message)?.[1])) });
    await tick();
    expect(queue.stats()).toEqual({ running: 1, waiting: 3 });
    // The late attendee queued behind the running boot only, not behind the refills.
    expect(ahead.at(-1)).toBe(1);
    p.finishOne();
    await first;
    await tick();
    expect(p.created.map((s) => s.owner)).toEqual(['first', 'late']);
    p.finish();
    await late;
    await tick();
    p.finish();
    await r1;
    await tick();
    p.finish();
    await r2;
    expect(p.created.map((s) => s.owner)).toEqual(['first', 'late', 'refill-1', 'refill-2']);
  });

  it('a create cancelled while waiting leaves the queue and never boots', async () => {
    const p = new FakeProvider({ holdCreates: true });
    const booter = queuedProvider(p, new BootQueue(1));
    const first = booter.create(spec('first'));
    const abort = new AbortController();
    const gone = booter.create(spec('gone'), { signal: abort.signal });
    const next = booter.create(spec('next'));
    abort.abort();
    await expect(gone).rejects.toThrow();
    p.finishOne();
    await first;
    await tick();
    p.finishOne();
    await next;
    expect(p.created.map((s) => s.owner)).toEqual(['first', 'next']);
  });

  it('a failed boot frees its slot for the next in line', async () => {
    const p = new FakeProvider();
    const booter = queuedProvider(p, new BootQueue(1));
    p.failNext = true;
    const results = await Promise.allSettled([booter.create(spec('a')), booter.create(spec('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('takes its default concurrency from the cores: one boot per two cores, at least one', () => {
    expect([1, 2, 3, 4, 16].map(defaultBootConcurrency)).toEqual([1, 1, 1, 2, 8]);
  });
});
