import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { STEP_SNAPSHOT, StepSnapshotError, StepSnapshots } from './step-snapshots.ts';

const spec = { hosts: ['host0'], services: { etcd: 'none' as const, docker: false } };
const direct = (restore: (env: never) => Promise<void>, env: unknown): Promise<void> => restore(env as never);

describe('step snapshots', () => {
  it('takes one snapshot when a step opens and restores that step from it', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, { id: 'one' });
    await snaps.stepOpened(env, { id: 'one' });
    expect(provider.snapshots.get(env.id)).toEqual(new Set([STEP_SNAPSHOT]));
    expect(snaps.refusal(env, { id: 'one' })).toBeUndefined();
    await snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env));
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
  });

  it('refuses to restore a step whose snapshot is not the one kept (an earlier step), without touching the hosts', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, { id: 'one' });
    await snaps.stepOpened(env, { id: 'two' });
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
    await expect(snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env))).rejects.toSatisfy((e) => e instanceof StepSnapshotError && e.code === 'no-snapshot');
    expect(provider.restored).toEqual([]);
  });

  it('says no-snapshot when taking it failed, and tries again when the step opens again', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    provider.failNextSnapshot = true;
    await snaps.stepOpened(env, { id: 'one' });
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
    await snaps.stepOpened(env, { id: 'one' });
    expect(snaps.refusal(env, { id: 'one' })).toBeUndefined();
  });

  it('says unsupported for a provider without snapshots', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider: { name: 'inventory' } });
    await snaps.stepOpened(env, { id: 'one' });
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('unsupported');
  });

  it('forgets an environment given back: its step cannot be restored', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, { id: 'one' });
    snaps.forgetEnvironment(env.id);
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
  });

  it('refuses a second reset while one runs', async () => {
    const provider = new FakeProvider();
    const env = await provider.create(spec);
    const snaps = new StepSnapshots({ provider });
    await snaps.stepOpened(env, { id: 'one' });
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
      await new StepSnapshots({ provider, records: before.stepSnapshots }).stepOpened(env, { id: 'two' });
      before.close();

      const after = openDurableStore(dir);
      const snaps = new StepSnapshots({ provider, records: after.stepSnapshots });
      expect(snaps.refusal(env, { id: 'two' })).toBeUndefined();
      expect(snaps.refusal(env, { id: 'one' })?.code).toBe('no-snapshot');
      // The step is open again after the restart: no second snapshot is taken over the one of when it opened.
      await snaps.stepOpened(env, { id: 'two' });
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
    await snaps.stepOpened(env, { id: 'one' });
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
    void snaps.stepOpened(env, { id: 'one' });
    expect(snaps.refusal(env, { id: 'one' })?.code).toBe('busy');
    await snaps.restore(env, { id: 'one' }, (restore) => direct(restore, env));
    expect(provider.restored).toEqual([`${env.id}/${STEP_SNAPSHOT}`]);
  });
});
