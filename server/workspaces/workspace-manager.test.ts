import { describe, expect, it } from 'vitest';
import type { EnvStatusMessage } from './workspace-manager.ts';
import { CloseCode } from '../../common/protocol.ts';
import { WorkspaceError, WorkspaceManager, ownerLabel } from './workspace-manager.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { memoryOwnership } from '../testing/memory-ownership.ts';

const shape = { hosts: ['host0', 'host1'], services: { etcd: 'cluster' as const, docker: false } };

function setup() {
  const provider = new FakeProvider({ holdCreates: true });
  const mgr = new WorkspaceManager({ provider, labShape: (id) => (id === 'etcd' ? shape : undefined) });
  return { provider, mgr };
}

describe('WorkspaceManager', () => {
  it('holds at most maxPerSession environments per session: the oldest unwatched is freed, and with all watched a new lab is refused', async () => {
    const provider = new FakeProvider();
    const labs = ['a', 'b', 'c'];
    const mgr = new WorkspaceManager({ provider, labShape: (id) => (labs.includes(id) ? shape : undefined), maxPerSession: 2 });
    mgr.acquire('s1', 'a');
    const offB = mgr.subscribe('s1', 'b', () => undefined);
    mgr.acquire('s1', 'b');
    const watchB = mgr.subscribe('s1', 'b', () => undefined);
    const envA = await mgr.whenReady('s1', 'a');
    await mgr.whenReady('s1', 'b');
    // Another session is not affected by s1's count.
    mgr.acquire('s2', 'c');
    // 'a' has no page watching it: it makes room for 'c'.
    mgr.acquire('s1', 'c');
    await mgr.whenReady('s1', 'c');
    expect(mgr.get('s1', 'a')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(provider.destroyed).toContain(envA.id);
    // Both held ones watched now: 'a' again is refused with a message, nothing is made.
    const watchC = mgr.subscribe('s1', 'c', () => undefined);
    const made = provider.created.length;
    expect(() => mgr.acquire('s1', 'a')).toThrow(WorkspaceError);
    expect(() => mgr.acquire('s1', 'a')).toThrow(/lab hosts for 2 labs open \(b, c\)/);
    expect(provider.created).toHaveLength(made);
    // Reopening a lab it holds is never refused.
    expect(mgr.acquire('s1', 'b').state).toBe('ready');
    offB();
    watchB();
    watchC();
    await mgr.close();
  });

  it('provisions once per (session, lab) and reuses it on reload', async () => {
    const { provider, mgr } = setup();
    const a = mgr.acquire('s1', 'etcd');
    const b = mgr.acquire('s1', 'etcd');
    expect(a).toBe(b);
    expect(provider.created).toHaveLength(1);
    expect(provider.created[0]!.owner).toBe(ownerLabel('s1', 'etcd'));
    expect(provider.created[0]!.owner).not.toContain('s1');
    provider.finish();
    const env = await mgr.whenReady('s1', 'etcd');
    expect(env.id).toBe('env1');
    expect(mgr.get('s1', 'etcd')?.state).toBe('ready');
    mgr.acquire('s2', 'etcd');
    expect(provider.created).toHaveLength(2);
  });

  it('pushes provisioning progress and readiness to subscribers', async () => {
    const { provider, mgr } = setup();
    mgr.acquire('s1', 'etcd');
    const seen: EnvStatusMessage[] = [];
    const off = mgr.subscribe('s1', 'etcd', (s) => seen.push(s));
    expect(seen[0]).toMatchObject({ state: 'provisioning', progress: { done: 1, total: 3, message: 'booting hosts' } });
    provider.finish();
    await mgr.whenReady('s1', 'etcd');
    expect(seen.at(-1)).toMatchObject({ state: 'ready', hosts: [{ name: 'host0' }, { name: 'host1' }] });
    mgr.reportHost('s1', 'etcd', 'host1', true);
    expect(seen.at(-1)?.hosts).toEqual([
      { name: 'host0', reachable: false },
      { name: 'host1', reachable: true },
    ]);
    off();
  });

  it('reports a failure and tries again on the next acquire', async () => {
    const { provider, mgr } = setup();
    provider.failNext = true;
    const seen: EnvStatusMessage[] = [];
    mgr.acquire('s1', 'etcd');
    mgr.subscribe('s1', 'etcd', (s) => seen.push(s));
    provider.finish();
    await expect(mgr.whenReady('s1', 'etcd')).rejects.toThrow(/no bridge/);
    expect(seen.at(-1)).toMatchObject({ state: 'failed', message: expect.stringContaining('no bridge') as unknown });
    mgr.acquire('s1', 'etcd');
    expect(provider.created).toHaveLength(2);
    // The page that saw the failure hears about the retry without subscribing again.
    expect(seen.at(-1)).toMatchObject({ state: 'provisioning' });
  });

  it('destroys environments when the session is released and on close, even mid-provisioning', async () => {
    const { provider, mgr } = setup();
    mgr.acquire('s1', 'etcd');
    provider.finish();
    await mgr.whenReady('s1', 'etcd');
    await mgr.release('s1');
    expect(provider.destroyed).toEqual(['env1']);
    expect(mgr.get('s1', 'etcd')).toBeUndefined();

    mgr.acquire('s2', 'etcd');
    const closing = mgr.close();
    provider.finish();
    await closing;
    expect(provider.destroyed).toEqual(['env1', 'env2']);
    expect(() => mgr.acquire('s3', 'etcd')).toThrow(/shutting down/);
  });

  it('refuses an unknown lab', () => {
    const { mgr } = setup();
    expect(() => mgr.acquire('s1', 'nope')).toThrow(/no lab "nope"/);
  });
});

describe('WorkspaceManager idle release', () => {
  it('releases a workspace nobody watched for the idle time, but not one a reloaded page watches again', async () => {
    const provider = new FakeProvider({ holdCreates: true });
    const mgr = new WorkspaceManager({ provider, labShape: () => shape, idleReleaseMs: 20 });
    mgr.acquire('s1', 'etcd');
    provider.finish();
    await mgr.whenReady('s1', 'etcd');
    const off = mgr.subscribe('s1', 'etcd', () => undefined);
    off();
    // The page reloads: a new subscription before the idle time keeps it.
    const again = mgr.subscribe('s1', 'etcd', () => undefined);
    await new Promise((r) => setTimeout(r, 40));
    expect(provider.destroyed).toEqual([]);
    again();
    await expect.poll(() => provider.destroyed).toEqual(['env1']);
    expect(mgr.get('s1', 'etcd')).toBeUndefined();
  });
});

describe('WorkspaceManager while a seat’s hosts are being destroyed', () => {
  /** A manager with durable-style ownership records and an admit switch, over a provider whose destroys can be held. */
  function seat() {
    const provider = new FakeProvider();
    const ownership = memoryOwnership();
    const records = ownership.records;
    const state = { ended: false };
    const mgr = new WorkspaceManager({
      provider,
      labShape: () => shape,
      ownership,
      admit: () => (state.ended ? { code: CloseCode.WorkshopEnded, reason: 'This workshop has ended' } : undefined),
    });
    return { provider, records, state, mgr };
  }

  it('a page asking during the destroy waits for it, then gets one new environment, never the dying one', async () => {
    const { provider, records, mgr } = seat();
    const old = await mgr.acquire('s1', 'etcd').whenReady();
    provider.holdDestroys();
    const freed = mgr.release('s1');
    // Out of use at once: no record a restart or an acquire could adopt.
    expect(records.size).toBe(0);
    const next = mgr.acquire('s1', 'etcd');
    const seen: EnvStatusMessage[] = [];
    mgr.subscribe('s1', 'etcd', (s) => seen.push(s));
    expect(seen.at(-1)).toMatchObject({ state: 'provisioning', progress: { message: 'removing the previous lab hosts' } });
    // Asked again (another tab, a mirror): the same waiting workspace, still no create().
    expect(mgr.acquire('s1', 'etcd')).toBe(next);
    await new Promise((r) => setTimeout(r, 20));
    expect(provider.created).toHaveLength(1);
    expect(next.state).toBe('provisioning');

    provider.releaseDestroys();
    await freed;
    const fresh = await next.whenReady();
    expect(fresh.id).not.toBe(old.id);
    expect([...provider.live.keys()]).toEqual([fresh.id]);
    expect(records.get('s1/etcd')).toBe(fresh.id);
    await mgr.close();
  });

  it('two releases in a row while a page keeps asking → one environment at the end, nothing leaked', async () => {
    const { provider, records, mgr } = seat();
    await mgr.acquire('s1', 'etcd').whenReady();
    provider.holdDestroys();
    const first = mgr.release('s1');
    mgr.acquire('s1', 'etcd');
    const second = mgr.release('s1');
    const last = mgr.acquire('s1', 'etcd');
    provider.releaseDestroys();
    await Promise.all([first, second]);
    const env = await last.whenReady();
    expect([...provider.live.keys()]).toEqual([env.id]);
    expect(provider.created).toHaveLength(2);
    expect([...records.values()]).toEqual([env.id]);
    await mgr.close();
  });

  it('refused by admit (the workshop ended) → acquire throws with the close code, and a workspace waiting on the destroy makes nothing', async () => {
    const { provider, records, state, mgr } = seat();
    await mgr.acquire('s1', 'etcd').whenReady();
    provider.holdDestroys();
    const freed = mgr.release('s1');
    const waiting = mgr.acquire('s1', 'etcd');
    state.ended = true;
    provider.releaseDestroys();
    await freed;
    const err = await waiting.whenReady().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkspaceError);
    expect(err).toMatchObject({ code: 'refused', closeCode: CloseCode.WorkshopEnded });
    expect(() => mgr.acquire('s1', 'etcd')).toThrow(/ended/);
    expect(provider.created).toHaveLength(1);
    expect(provider.live.size).toBe(0);
    expect(records.size).toBe(0);
    await mgr.close();
  });
});

describe('WorkspaceManager close', () => {
  it('waits for a destroy a release started, so a shutdown mid-reset leaves no hosts', async () => {
    const provider = new FakeProvider();
    const mgr = new WorkspaceManager({ provider, labShape: () => shape });
    await mgr.acquire('s1', 'etcd').whenReady();
    provider.holdDestroys();
    void mgr.release('s1');
    let closed = false;
    const closing = mgr.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    provider.releaseDestroys();
    await closing;
    expect(provider.live.size).toBe(0);
  });
});
