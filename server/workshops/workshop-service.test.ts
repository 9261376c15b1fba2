// WorkshopService races without HTTP: what the expiry sweep, extend, reset and end do to each other
// while a slow provider is still destroying hosts (hostile/races.test.ts drives the same over WebSockets).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { WorkshopStack } from './workshop-stack.ts';
import { createWorkshopStack } from './workshop-stack.ts';

describe('WorkshopService with a slow destroy', () => {
  let dir: string;
  let stack: WorkshopStack;
  let provider: FakeProvider;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-service-'));
    provider = new FakeProvider();
    stack = createWorkshopStack({ config: loadConfig({}, { port: 0, dataDir: dir }), catalog: { get: () => undefined }, labs: new StaticLabViews([sampleLabView('demo')]), provider, recheckMs: 0 });
  });
  afterEach(async () => {
    provider.releaseDestroys();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const withAttendee = async (minutes: number) => {
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes });
    const joined = stack.service.join(w.joinPath.split('/').pop()!, 'Ada');
    if (!joined?.ok) throw new Error('join failed');
    const env = await stack.workspaces.workspaces.whenReady(joined.session.id, 'demo');
    return { w, session: joined.session, env };
  };

  it('a workshop extended while the sweep is still freeing an earlier one is not ended by that sweep', async () => {
    const first = await withAttendee(1);
    const second = await withAttendee(2);
    provider.holdDestroys();
    const sweeping = stack.service.sweep(second.w.expiresAt + 60_000);
    await expect.poll(() => provider.destroying).toBe(1);
    stack.service.extend(second.w.id, 60);
    provider.releaseDestroys();
    await sweeping;
    expect(stack.service.get(first.w.id).endReason).toBe('expired');
    expect(stack.service.get(second.w.id).endedAt).toBeUndefined();
    expect([...provider.live.keys()]).toEqual([second.env.id]);
  });

  it('reset, then the end while the reset still destroys → the reset makes no hosts for the ended workshop', async () => {
    const { w, session } = await withAttendee(30);
    provider.holdDestroys();
    const resetting = stack.service.reset(w.id, session.attendeeId!);
    const ending = stack.service.end(w.id);
    provider.releaseDestroys();
    await Promise.all([resetting, ending]);
    expect(provider.created).toHaveLength(1);
    expect(provider.live.size).toBe(0);
    expect(stack.workspaces.workspaces.get(session.id, 'demo')).toBeUndefined();
    expect(stack.store.environments.ofSession(session.id)).toEqual([]);
  });

  it('a reset of an expired workshop not swept yet is refused and keeps the hosts for the sweep to free', async () => {
    const { w, session, env } = await withAttendee(30);
    stack.store.workshops.setExpiry(w.id, Date.now() - 1);
    await expect(stack.service.reset(w.id, session.attendeeId!)).rejects.toMatchObject({ code: 'workshop-ended' });
    expect(provider.created).toHaveLength(1);
    expect([...provider.live.keys()]).toEqual([env.id]);
    await stack.service.sweep();
    expect(provider.live.size).toBe(0);
  });
});
