// Catch-up with a scripted target: steps replayed in order and marked done as replayed, the first
// solution that fails (or checks that stay red) stops it, refusals say why, a reset cuts it off.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLab } from '../labs/parse-lab.ts';
import { MemorySetupRecords } from '../checks/setup-records.ts';
import { StepSetups } from '../checks/setup-service.ts';
import { logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { fakeTarget } from '../testing/fake-target.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { CatchUpError, CatchUpService } from './catch-up-service.ts';

const LAB = `---
title: Catch
hosts: [host0]
---
## One

\`\`\`check
etcd: { key: /one, equals: "1" }
\`\`\`

\`\`\`solve host0
etcdctl put /one 1
\`\`\`

## Read only

Nothing to check.

## Three

\`\`\`setup host0
touch /prepared
\`\`\`

\`\`\`check
etcd: { key: /three, equals: "3" }
\`\`\`

\`\`\`solve host0
etcdctl put /three 3
\`\`\`

## Four

\`\`\`check
etcd: { key: /four, equals: "4" }
\`\`\`
`;

describe('catch-up', () => {
  let dir: string;
  let store: DurableStore;
  const lab = parseLab(LAB, { id: 'catch', file: 'catch/lab.md' }).lab;
  const env = { id: 'lwtest', spec: { owner: 'x', hosts: ['host0'] } } as unknown as Environment;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-catchup-'));
    store = openDurableStore(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(opts: { failOn?: string } = {}) {
    const target = fakeTarget(['host0'], (_host, command) => {
      if (opts.failOn && command.includes(opts.failOn)) return { code: 1, stderr: 'boom' };
      const put = /etcdctl put (\/\w+) (\w+)/.exec(command);
      if (put) target.kv.set(put[1]!, put[2]!);
      return {};
    });
    const w = store.workshops.create({ labId: 'catch', capacity: 5, expiresAt: Date.now() + 3_600_000 });
    const joined = store.workshops.join(w.joinToken, 'Ada');
    if (!joined?.ok) throw new Error('join failed');
    const ada = joined.session;
    const changes: string[] = [];
    const refreshed: string[] = [];
    const service = new CatchUpService({
      store,
      lab: () => lab,
      environment: () => env,
      target: () => target,
      setups: new StepSetups({ records: new MemorySetupRecords(), target: () => target }),
      progress: store.progress,
      refreshPages: (id) => Promise.resolve(void refreshed.push(id)),
      onChange: (id) => changes.push(id),
      log: logger('test'),
      settleMs: 0,
    });
    return { target, w, ada, service, changes, refreshed };
  }

  const until = async (pred: () => boolean): Promise<void> => {
    while (!pred()) await new Promise((r) => setTimeout(r, 5));
  };

  it('replays each step before N in order (setup first), marks them done as replayed, and tells the pages', async () => {
    const { target, w, ada, service, refreshed } = setup();
    const [out] = service.start(w.id, 4, ada.attendeeId);
    expect(out).toMatchObject({ name: 'Ada', ok: true, message: 'replaying 3 steps (to step 4)' });
    await until(() => service.statusOf(ada.id)?.state !== 'running');
    expect(service.statusOf(ada.id)).toMatchObject({ state: 'done', toStep: 3 });
    const done = store.progress.getSync(ada.id, 'catch').done;
    expect(done.map((d) => [d.stepId, d.replayed, d.skipped])).toEqual([
      ['one', true, false],
      ['read-only', true, false],
      ['three', true, false],
    ]);
    // The setup of step 3 ran before its solution; step 4 was not touched.
    const commands = target.calls.map(([, c]) => c).join('\n');
    expect(commands.indexOf('touch /prepared')).toBeGreaterThan(-1);
    expect(commands.indexOf('touch /prepared')).toBeLessThan(commands.indexOf('etcdctl put /three'));
    expect(target.kv.has('/four')).toBe(false);
    expect(refreshed).toHaveLength(3);
  });

  it('says which steps it replays while it runs (the attendee\'s own checks leave marking those to it), none once done', async () => {
    const { w, ada, service } = setup();
    service.start(w.id, 3, ada.attendeeId);
    expect([0, 1, 2, 3].map((i) => service.replays(ada.id, i))).toEqual([true, true, false, false]);
    await until(() => service.statusOf(ada.id)?.state !== 'running');
    expect(service.replays(ada.id, 0)).toBe(false);
  });

  it('steps the attendee did are left alone; past the target it is refused', async () => {
    const { target, w, ada, service } = setup();
    await store.progress.markDone(ada.id, 'catch', { stepId: 'one', at: Date.now(), skipped: false });
    service.start(w.id, 3, ada.attendeeId);
    await until(() => service.statusOf(ada.id)?.state !== 'running');
    expect(target.calls.some(([, c]) => c.includes('/one'))).toBe(false);
    expect(store.progress.getSync(ada.id, 'catch').done.map((d) => [d.stepId, d.replayed ?? false])).toEqual([
      ['one', false],
      ['read-only', true],
    ]);
    expect(service.start(w.id, 2, ada.attendeeId)[0]).toMatchObject({ ok: false, message: 'they are at step 2 or past it already' });
  });

  it('a failing solution stops it at that step, with the host, line and error; nothing after it is done', async () => {
    const { w, ada, service } = setup({ failOn: 'put /three' });
    service.start(w.id, 4, ada.attendeeId);
    await until(() => service.statusOf(ada.id)?.state !== 'running');
    expect(service.statusOf(ada.id)).toMatchObject({ state: 'failed', step: 2 });
    expect(service.statusOf(ada.id)?.message).toMatch(/^its solution failed on host0 \(line \d+\): exit 1 — boom$/);
    expect(store.progress.getSync(ada.id, 'catch').done.map((d) => d.stepId)).toEqual(['one', 'read-only']);
  });

  it('refuses a step without a solution, a bad step number, another workshop’s attendee', () => {
    const { w, ada, service } = setup();
    expect(service.start(w.id, 5, ada.attendeeId)[0]).toMatchObject({ ok: false, message: 'step 4 has no solution to replay' });
    expect(() => service.start(w.id, 9, ada.attendeeId)).toThrow(CatchUpError);
    const other = store.workshops.create({ labId: 'catch', capacity: 5, expiresAt: Date.now() + 3_600_000 });
    expect(() => service.start(other.id, 2, ada.attendeeId)).toThrow(/no such attendee/);
  });

  it('a reset while it runs: the replay of the old hosts reports nothing more', async () => {
    const { w, ada, service } = setup();
    service.start(w.id, 4, ada.attendeeId);
    service.forget(ada.id);
    await service.close();
    expect(service.statusOf(ada.id)).toBeUndefined();
  });
});
