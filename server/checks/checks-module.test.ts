import { describe, expect, it, vi } from 'vitest';
import type { CheckSpec } from '../../common/checks.ts';
import { checkSchemas } from '../../common/checks.ts';
import type { Lab } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { fakeTarget } from '../testing/fake-target.ts';
import type { CheckTarget } from './check-target.ts';
import { logger } from '../log.ts';
import type { Cleanup, ConnectionContext } from '../ws/connection-context.ts';
import { createChecksModule } from './checks-module.ts';
import { MemoryProgressStore } from '../progress/progress-store.ts';
import { MemorySetupRecords } from './setup-records.ts';
import { StepSetups } from './setup-service.ts';

const etcdKey = (key: string, equals: string): CheckSpec => ({ kind: 'etcd', line: 1, spec: checkSchemas.etcd.parse({ key, equals }) });

function lab(gate: 'hard' | 'soft' = 'hard', allowSkip = false): Lab {
  const step = (index: number, checks: CheckSpec[]) => ({ index, id: `s${index}`, title: `s${index}`, line: 1, parts: [], checks, solves: [{ host: 'host0', code: `etcdctl put /k${index} v`, line: 2 }], setups: [] });
  return {
    id: 'etcd',
    file: 'labs/etcd/lab.md',
    meta: { title: 't', summary: '', hosts: ['host0'], services: { etcd: 'cluster', docker: false }, durationMinutes: null, gate, allowSkip },
    intro: [],
    steps: [step(0, [etcdKey('/example', 'Azure')]), step(1, [etcdKey('/k1', 'v')]), step(2, [etcdKey('/k2', 'v')])],
    faults: [],
  };
}

const env = { id: 'e1', hosts: [] } as unknown as Environment;

function fakeConn(sessionId = 'sess') {
  const sent: ServerMessage[] = [];
  const cleanups: Cleanup[] = [];
  const ctx: ConnectionContext = {
    connectionId: 'c1',
    session: { id: sessionId, createdAt: 0 },
    labId: 'etcd',
    log: logger('test'),
    send: (m) => sent.push(m),
    sendError: (code, message, ref) => sent.push({ type: 'error', code, message, ...(ref ? { ref } : {}) }),
    onClose: (c) => cleanups.push(c),
    bufferedAmount: 0,
    closed: false,
    close: () => undefined,
  };
  const close = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  return { ctx, sent, close };
}

function setup(l: Lab, recheckMs = 0) {
  const target = fakeTarget(['host0'], () => ({}));
  const progress = new MemoryProgressStore();
  const mod = createChecksModule({ lab: () => l, environment: () => env, target: () => target, progress, recheckMs, skipSettleMs: 200 });
  return { target, progress, mod };
}

const last = <T extends ServerMessage['type']>(sent: ServerMessage[], type: T) => sent.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type).at(-1);

describe('checks module', () => {
  it('sends progress on connect and refuses a locked step (hard gate)', async () => {
    const { mod } = setup(lab());
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    expect(last(sent, 'progress')?.progress).toEqual({ current: 0, done: [] });
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 1 });
    expect(last(sent, 'error')).toMatchObject({ code: 'step-locked', ref: 'check-run' });
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 7 });
    expect(last(sent, 'error')).toMatchObject({ code: 'unknown-step' });
    await close();
  });

  it('a failing check reports expected vs actual; a passing one marks the step done and unlocks the next', async () => {
    const { mod, target, progress } = setup(lab());
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    target.kv.set('/example', 'Blue');
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 0 });
    expect(last(sent, 'check-report')?.report.results[0]?.message).toBe('etcd key /example is "Blue", expected "Azure"');
    target.kv.set('/example', 'Azure');
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 0 });
    expect(last(sent, 'check-report')?.report.passed).toBe(true);
    expect(last(sent, 'progress')?.progress.current).toBe(1);
    expect((await progress.get('sess', 'etcd')).attempts.s0?.count).toBe(2);
    await close();
  });

  it('answers Check presses past the per-minute budget of the session with too-many, over all its pages; automatic re-checks do not count', async () => {
    const target = fakeTarget(['host0'], () => ({}));
    const mod = createChecksModule({ lab: () => lab(), environment: () => env, target: () => target, progress: new MemoryProgressStore(), recheckMs: 5, checkRunsPerMinute: 3 });
    const a = fakeConn();
    const b = fakeConn();
    await mod.onConnect!(a.ctx);
    await mod.onConnect!(b.ctx);
    // Automatic re-checks run meanwhile; they must not use up the budget.
    await vi.waitFor(() => expect(a.sent.some((m) => m.type === 'check-report')).toBe(true));
    // Unchanged automatic reports are not re-sent; flipping the key makes each re-check show.
    for (const v of ['x', 'y', 'z', 'w']) {
      const before = a.sent.length;
      target.kv.set('/example', v);
      await vi.waitFor(() => expect(a.sent.length).toBeGreaterThan(before));
    }
    for (let i = 0; i < 2; i++) await mod.handlers['check-run']!(a.ctx, { type: 'check-run', step: 0 });
    await mod.handlers['check-run']!(b.ctx, { type: 'check-run', step: 0 });
    expect(b.sent.filter((m) => m.type === 'error')).toEqual([]);
    await mod.handlers['check-run']!(b.ctx, { type: 'check-run', step: 0 });
    expect(last(b.sent, 'error')).toMatchObject({ code: 'too-many', ref: 'check-run' });
    expect(last(b.sent, 'error')?.message).toMatch(/^too many checks: at most 3 a minute; try again in \d+ s$/);
    // Another session has its own budget.
    const c = fakeConn('other');
    await mod.onConnect!(c.ctx);
    await mod.handlers['check-run']!(c.ctx, { type: 'check-run', step: 0 });
    expect(c.sent.filter((m) => m.type === 'error')).toEqual([]);
    await a.close();
    await b.close();
    await c.close();
    mod.close();
  });

  it("while the instructor's catch-up replays an attendee's steps, her own passing checks report but leave marking them done to it", async () => {
    const target = fakeTarget(['host0'], () => ({}));
    const progress = new MemoryProgressStore();
    let catchUp = true;
    const mod = createChecksModule({ lab: () => lab(), environment: () => env, target: () => target, progress, recheckMs: 10, catchUpReplays: (_, step) => catchUp && step === 0 });
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    // The catch-up's solution took effect: her page's re-check sees the step pass first.
    target.kv.set('/example', 'Azure');
    await vi.waitFor(() => expect(last(sent, 'check-report')?.report.passed).toBe(true));
    await new Promise((r) => setTimeout(r, 50));
    expect((await progress.get('sess', 'etcd')).done).toEqual([]);
    // The catch-up marks it, as replayed; the mark stays the catch-up's.
    await progress.markDone('sess', 'etcd', { stepId: 's0', at: 1, skipped: false, replayed: true });
    catchUp = false;
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 0 });
    expect((await progress.get('sess', 'etcd')).done).toMatchObject([{ stepId: 's0', replayed: true }]);
    await close();
    mod.close();
  });

  it('re-checks the open step automatically and unlocks without a button press', async () => {
    const { mod, target } = setup(lab(), 10);
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    target.kv.set('/example', 'Blue');
    await vi.waitFor(() => expect(last(sent, 'check-report')?.report.passed).toBe(false));
    const reports = sent.filter((m) => m.type === 'check-report').length;
    target.kv.set('/example', 'Azure');
    await vi.waitFor(() => expect(last(sent, 'progress')?.progress.current).toBe(1));
    // Unchanged automatic reports are not re-sent: only the passing one came in between.
    expect(sent.filter((m) => m.type === 'check-report').length).toBeLessThanOrEqual(reports + 2);
    await close();
    mod.close();
  });

  it('automatic re-checks of a whole room run at most autoCheckConcurrency at once, every attendee before anyone twice; a pressed Check does not wait', async () => {
    let inFlight = 0;
    let peak = 0;
    const order: string[] = [];
    const release: (() => void)[] = [];
    // Each attendee's etcd answers only when the test releases it, so runs pile up unless bounded.
    const targetOf = (e: Environment): CheckTarget => ({
      ...fakeTarget(['host0'], () => ({})),
      etcd: () => ({
        get: () => {
          order.push(e.id);
          peak = Math.max(peak, ++inFlight);
          return new Promise<string>((resolve) =>
            release.push(() => {
              inFlight--;
              resolve('Blue');
            }),
          );
        },
        getPrefix: () => Promise.resolve(new Map()),
        countPrefix: () => Promise.resolve(0),
      }),
    });
    const mod = createChecksModule({ lab: () => lab(), environment: (sessionId) => ({ id: sessionId, hosts: [] }) as unknown as Environment, target: targetOf, progress: new MemoryProgressStore(), recheckMs: 5, autoCheckConcurrency: 2 });
    const conns = Array.from({ length: 6 }, (_, i) => fakeConn(`s${i}`));
    for (const c of conns) await mod.onConnect!(c.ctx);
    while (order.length < 12) {
      await vi.waitFor(() => expect(release.length).toBeGreaterThan(0));
      release.shift()?.();
    }
    expect(peak).toBe(2);
    expect(new Set(order.slice(0, 6)).size).toBe(6);
    // An attendee pressing Check is answered while the queue is full.
    const pressed = mod.handlers['check-run']!(conns[0]!.ctx, { type: 'check-run', step: 0 });
    await vi.waitFor(() => expect(inFlight).toBe(3));
    release.splice(0).forEach((r) => r());
    await pressed;
    for (const c of conns) await c.close();
    mod.close();
    release.splice(0).forEach((r) => r());
  });

  it('a room whose hosts do not answer is re-checked less and less often (while a healthy one keeps its pace), so dead hosts cannot crowd the queue', async () => {
    vi.useFakeTimers();
    try {
      const runs = new Map<string, number>();
      const targetOf = (e: Environment): CheckTarget => ({
        ...fakeTarget(['host0'], () => ({})),
        etcd: () => ({
          get: () => {
            runs.set(e.id, (runs.get(e.id) ?? 0) + 1);
            return e.id === 'dead' ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve('Blue');
          },
          getPrefix: () => Promise.resolve(new Map()),
          countPrefix: () => Promise.resolve(0),
        }),
      });
      const mod = createChecksModule({ lab: () => lab(), environment: (sessionId) => ({ id: sessionId, hosts: [] }) as unknown as Environment, target: targetOf, progress: new MemoryProgressStore(), recheckMs: 100 });
      const dead = fakeConn('dead');
      const healthy = fakeConn('healthy');
      await mod.onConnect!(dead.ctx);
      await mod.onConnect!(healthy.ctx);
      // 100 + 200 + 400 + 800 + 1600 ms of back-off: five runs of the dead room, one every 100 ms for the other.
      for (let i = 0; i < 31; i++) await vi.advanceTimersByTimeAsync(100);
      expect(runs.get('dead')).toBe(5);
      expect(runs.get('healthy')).toBe(31);
      await dead.close();
      await healthy.close();
      mod.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('soft gate: any step may be checked and marked done', async () => {
    const { mod, target } = setup(lab('soft'));
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    target.kv.set('/k2', 'v');
    await mod.handlers['check-run']!(ctx, { type: 'check-run', step: 2 });
    expect(last(sent, 'progress')?.progress).toMatchObject({ current: 0, done: [{ step: 2, skipped: false }] });
    await close();
  });

  it('skip runs the solve blocks (bash -e when no terminal is open) and marks the step skipped', async () => {
    const { mod, target } = setup(lab('hard', true));
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    target.exec = (host, command) => {
      if (command.startsWith('tmux has-session')) return Promise.resolve({ code: 1, signal: null, stdout: '', stderr: '', truncated: false });
      if (command.includes('etcdctl put /k0 v')) target.kv.set('/example', 'Azure');
      return Promise.resolve({ code: 0, signal: null, stdout: host, stderr: '', truncated: false });
    };
    await mod.handlers['step-skip']!(ctx, { type: 'step-skip', step: 0 });
    expect(target.kv.get('/example')).toBe('Azure');
    expect(last(sent, 'progress')?.progress.done).toMatchObject([{ step: 0, skipped: true }]);
    await close();
  });

  it('refuses skip when the lab does not allow it', async () => {
    const { mod } = setup(lab('hard', false));
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    await mod.handlers['step-skip']!(ctx, { type: 'step-skip', step: 0 });
    expect(last(sent, 'error')).toMatchObject({ code: 'forbidden' });
    await close();
  });

  it('a page that connected before its hosts were ready is told a setup that failed earlier (a restart re-adopting them)', async () => {
    const l = lab();
    l.steps[0] = { ...l.steps[0]!, setups: [{ host: 'host0', code: 'systemctl stop etcd', line: 3 }] };
    const records = new MemorySetupRecords();
    records.set('e1', 's0', { state: 'failed', at: 1, host: 'host0', reason: 'exit 1: no etcd' });
    const target = fakeTarget(['host0'], () => ({}));
    const hosts: { ready?: Environment } = {};
    const setups = new StepSetups({ records, target: () => target });
    const mod = createChecksModule({ lab: () => l, environment: () => hosts.ready, target: () => target, progress: new MemoryProgressStore(), recheckMs: 0, setups });
    const { ctx, sent, close } = fakeConn();
    await mod.onConnect!(ctx);
    expect(last(sent, 'step-setup')).toBeUndefined();
    hosts.ready = env;
    await mod.environmentReady('sess', 'etcd', env);
    expect(last(sent, 'step-setup')?.setup).toEqual({ step: 0, state: 'failed', host: 'host0', reason: 'exit 1: no etcd' });
    // Told, not run again: the attendee's Retry does that.
    expect(target.calls).toHaveLength(0);
    await close();
  });
});
