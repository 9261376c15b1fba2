import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Step } from '../../common/lab.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { STEP_SNAPSHOT, StepSnapshotError, StepSnapshots } from './step-snapshots.ts';

const spec = { hosts: ['host0'], services: { etcd: 'none' as const, docker: false } };
const direct = (restore: (env: never) => Promise<void>, env: unknown): Promise<void> => restore(env as never);
/** A step after the first, without setup. */
const later = (id: string): Pick<Step, 'id' | 'index' | 'setups'> => ({ id, index: 1, setups: [] });
const first = (id: string, setups: Step['setups'] = []): Pick<Step, 'id' | 'index' | 'setups'> => ({ id, index: 0, setups });

describe('step snapshots', () => {
  it('takes one snapshot when a step opens and restores that step from it', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, later('one'));
    await snaps.stepOpened(env, later('one'));
    expect(provider.snapshots.get(env.id)).toEqual(new Set([STEP_SNAPSHOT]));
    expect(snaps.refusal(env, { id: 'one' })).toBeUndefined();
    await snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env));
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
  });

  it('refuses to restore a step whose snapshot is not the one kept (an earlier step), without touching the hosts', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, later('one'));
    await snaps.stepOpened(env, later('two'));
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
    await expect(snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env))).rejects.toSatisfy((e) => e instanceof StepSnapshotError && e.code === 'no-snapshot');
    expect(provider.restored).toEqual([]);
  });

  it('says no-snapshot when taking it failed, and tries again when the step opens again', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    provider.failNextSnapshot = true;
    await snaps.stepOpened(env, later('one'));
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
    await snaps.stepOpened(env, later('one'));
    expect(snaps.refusal(env, { id: 'one' })).toBeUndefined();
  });

  it('says unsupported for a provider without snapshots', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider: { name: 'inventory' } });
    await snaps.stepOpened(env, later('one'));
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('unsupported');
  });

  it('forgets an environment given back: its step cannot be restored', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, later('one'));
    snaps.forgetEnvironment(env.id);
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
  });

  it('refuses a second reset while one runs', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, later('one'));
    let release: (() => void) | undefined;
    const first = snaps.restore(env, { id: 'one' }, (restore) => new Promise<void>((r) => (release = r)).then(() => restore(env)));
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('busy');
    await expect(snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env))).rejects.toSatisfy((e) => e instanceof StepSnapshotError && e.code === 'busy');
    await expect.poll(() => release).toBeDefined();
    release?.();
    await first;
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
    expect(snaps.refusal(env, { id: 'one' })).toBeUndefined();
  });

  it('a restarted server (a new StepSnapshots over the same SQLite file) still resets the step the snapshot belongs to', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-step-snapshots-'));
    try {
      const provider = new FakeProvider();
      const env = await provider.create(spec);
      const before = openDurableStore(dir);
      await new StepSnapshots({ provider, records: before.stepSnapshots }).stepOpened(env, later('two'));
      before.close();

      const after = openDurableStore(dir);
      const snaps = new StepSnapshots({ provider, records: after.stepSnapshots });
      expect(snaps.refusal(env, { id: 'two' })).toBeUndefined();
      expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
      // The step is open again after the restart: no second snapshot is taken over the one of when it opened.
      await snaps.stepOpened(env, later('two'));
      await snaps.restore(env, { id: 'two' }, (restore) => direct(restore, env));
      expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
      // An environment given back takes its record with it.
      snaps.forgetEnvironment(env.id);
      expect(after.stepSnapshots.get(env.id)).toBeUndefined();
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a recorded snapshot the provider no longer holds → no-snapshot, and the hosts are left alone', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, later('one'));
    provider.snapshots.get(env.id)?.clear();
    let ran = false;
    await expect(
      snaps.restore(env, { id: 'one' }, (restore) => {
        ran = true;
        return direct(restore, env);
      }),
    ).rejects.toSatisfy((e) => e instanceof StepSnapshotError && e.code === 'no-snapshot');
    expect(ran).toBe(false);
  });

  it('a reset pressed while the step’s snapshot is still being taken waits for it, then restores', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    void snaps.stepOpened(env, later('one'));
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('busy');
    await snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env));
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
  });
});

describe('step snapshots of pooled hosts (taken as booted, before anyone claims them)', () => {
  it('the lab’s first step, without setup, is recorded on the pooled snapshot: no second snapshot, and it restores', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snapshot = vi.spyOn(provider, 'snapshot');
    const snaps = new StepSnapshots({ provider });
    await snaps.takeAsBooted(env);
    expect(snapshot).toHaveBeenCalledTimes(1);
    // Nothing is resettable before a step owns the snapshot.
    expect(snaps.refusal(env, first('one'))?.code).toBe('no-snapshot');
    await snaps.stepOpened(env, first('one'));
    expect(snapshot).toHaveBeenCalledTimes(1);
    expect(snaps.refusal(env, first('one'))).toBeUndefined();
    await snaps.restore(env, first('one'), (restore) => direct(restore, env));
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
    // The next step takes its own, as before.
    await snaps.stepOpened(env, later('two'));
    expect(snapshot).toHaveBeenCalledTimes(2);
  });

  it('a first step with setup, or a later step, takes its own snapshot (the pooled one is not how it opened)', async () => {
    const provider = new FakeProvider();
    const snapshot = vi.spyOn(provider, 'snapshot');
    const snaps = new StepSnapshots({ provider });
    const a = await provider.create(spec);
    await snaps.takeAsBooted(a);
    await snaps.stepOpened(a, first('one', [{ host: 'host0', code: 'touch /x', line: 3 }]));
    const b = await provider.create(spec);
    await snaps.takeAsBooted(b);
    await snaps.stepOpened(b, later('three'));
    expect(snapshot).toHaveBeenCalledTimes(4);
    expect(snaps.refusal(a, first('one'))).toBeUndefined();
    expect(snaps.refusal(b, later('three'))).toBeUndefined();
  });

  it('a restarted server still resets the first step from the pooled snapshot (recorded in SQLite once claimed)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-step-snapshots-'));
    try {
      const provider = new FakeProvider();
      const env = await provider.create(spec);
      const before = openDurableStore(dir);
      const snaps = new StepSnapshots({ provider, records: before.stepSnapshots });
      await snaps.takeAsBooted(env);
      // Pooled, unclaimed: nothing durable (a restart destroys unclaimed pool hosts).
      expect(before.stepSnapshots.get(env.id)).toBeUndefined();
      await snaps.stepOpened(env, first('one'));
      const takenAt = (await provider.snapshotInfo(env, STEP_SNAPSHOT))?.takenAt;
      expect(before.stepSnapshots.get(env.id)).toEqual({ stepId: 'one', takenAt });
      before.close();

      const after = openDurableStore(dir);
      const again = new StepSnapshots({ provider, records: after.stepSnapshots });
      expect(again.refusal(env, first('one'))).toBeUndefined();
      await again.restore(env, first('one'), (restore) => direct(restore, env));
      expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a pooled environment given up while its snapshot is being taken: the snapshot is not adopted later, nothing is recorded', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-step-snapshots-'));
    try {
      const provider = new FakeProvider();
      const env = await provider.create(spec);
      const snapshot = vi.spyOn(provider, 'snapshot');
      const store = openDurableStore(dir);
      const snaps = new StepSnapshots({ provider, records: store.stepSnapshots });
      const taking = snaps.takeAsBooted(env);
      snaps.forgetEnvironment(env.id);
      await taking;
      expect(snaps.refusal(env, first('one'))?.code).toBe('no-snapshot');
      expect(store.stepSnapshots.get(env.id)).toBeUndefined();
      await snaps.stepOpened(env, first('one'));
      expect(snapshot).toHaveBeenCalledTimes(2);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
