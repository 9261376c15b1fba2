// "Boot hosts ahead for every seat" through the workshop routes over real HTTP (workshop stack, SQLite, a
// fake provider that boots): bad values, no login, a foreign Origin and a machine too small are refused with
// a clear answer and change nothing; a good one boots every free seat, survives a restart, and unsetting it
// or ending the workshop gives the environments back.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { MachineMemory } from '../workshops/boot-ahead-guard.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';

const TOKEN = 'instructor-token-for-boot-ahead-tests';

let dir: string;
let provider: FakeProvider;
let stack: WorkshopStack;
let server: RunningServer;
let cookie: string;
let memory: MachineMemory;

async function start(bootsHosts = true): Promise<void> {
  const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, poolSize: 0 });
  const labs = new StaticLabViews([sampleLabView('demo')]);
  stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider, recheckMs: 0, bootsHosts, machineMemory: () => memory });
  await stack.start();
  server = await startServer(config, { labs, ...stack.appDeps });
  const res = await post('instructor/login', { token: TOKEN });
  cookie = res.headers.get('set-cookie')!.split(';')[0]!;
}

async function stop(): Promise<void> {
  await server.close();
  await stack.close();
}

function post(p: string, body: unknown, opts: { cookie?: string; origin?: string } = { cookie }): Promise<Response> {
  return fetch(`${server.url}api/${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(opts.cookie ? { Cookie: opts.cookie } : {}), ...(opts.origin ? { Origin: opts.origin } : {}) },
    body: JSON.stringify(body),
  });
}
const snapshot = async (id: string): Promise<DashboardSnapshot> => (await (await fetch(`${server.url}api/workshops/${id}`, { headers: { Cookie: cookie } })).json()) as DashboardSnapshot;
const errorOf = async (res: Response): Promise<{ status: number; code: string; message: string }> => {
  const b = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...b.error };
};

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-boot-ahead-'));
  provider = new FakeProvider();
  memory = { availableMiB: 16_000, totalMiB: 20_000 };
  await start();
});
afterEach(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('boot ahead: hostile and bad values', () => {
  it('a bootAhead that is not a boolean (create or switch), no login, a foreign Origin → 400 / 401 / 403, nothing booted', async () => {
    for (const bad of ['yes', 1, null, {}]) {
      expect(await errorOf(await post('workshops', { labId: 'demo', capacity: 4, minutes: 30, bootAhead: bad }))).toMatchObject({ status: 400, code: 'bad-request', message: 'bootAhead: must be true or false' });
    }
    const w = (await (await post('workshops', { labId: 'demo', capacity: 4, minutes: 30 })).json()) as WorkshopInfo;
    for (const bad of [{ on: 'true' }, { on: 1 }, {}, { enabled: true }]) {
      expect(await errorOf(await post(`workshops/${w.id}/boot-ahead`, bad))).toMatchObject({ status: 400, code: 'bad-request', message: 'on: must be true or false' });
    }
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true }, {})).status).toBe(401);
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true }, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post('workshops/wNOPEnope/boot-ahead', { on: true })).status).toBe(404);
    expect((await snapshot(w.id)).bootAhead).toBeUndefined();
    expect(provider.created.length).toBe(0);
  });

  it('more than the machine can hold → 409 naming the figures; nothing created, nothing booted', async () => {
    memory = { availableMiB: 2048, totalMiB: 4096 };
    // The sample lab has 2 hosts: 40 × 2 × 64 MiB = 5120 MiB against 2048 − 1024 reserve.
    const refused = await errorOf(await post('workshops', { labId: 'demo', capacity: 40, minutes: 30, bootAhead: true }));
    expect(refused).toMatchObject({ status: 409, code: 'conflict' });
    expect(refused.message).toContain('they need about 5120 MiB (40 × 2 hosts × 64 MiB), and this machine has 2048 MiB available');
    expect(refused.message).toContain('about 8 would fit');
    expect(stack.store.workshops.list()).toEqual([]);
    const w = (await (await post('workshops', { labId: 'demo', capacity: 40, minutes: 30 })).json()) as WorkshopInfo;
    const again = await errorOf(await post(`workshops/${w.id}/boot-ahead`, { on: true }));
    expect(again.status).toBe(409);
    expect(again.message).toContain('about 8 would fit');
    expect(stack.store.workshops.get(w.id)?.bootAhead).toBe(false);
    expect(provider.created.length).toBe(0);
  });

  it('a server whose provider does not boot hosts → 400 saying there is nothing to boot ahead', async () => {
    await stop();
    await start(false);
    const refused = await errorOf(await post('workshops', { labId: 'demo', capacity: 3, minutes: 30, bootAhead: true }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('nothing to boot ahead');
  });
});

describe('boot ahead: checked against the memory again at a restart', () => {
  it('a restart on a machine that no longer has the memory turns the option off, boots nothing ahead and says why on the dashboard', async () => {
    const w = (await (await post('workshops', { labId: 'demo', capacity: 40, minutes: 30, bootAhead: true })).json()) as WorkshopInfo;
    expect(w.bootAhead).toBe(true);
    await stop();
    provider.live.clear();
    const created = provider.created.length;
    memory = { availableMiB: 2048, totalMiB: 4096 };
    await start();
    expect(stack.store.workshops.get(w.id)?.bootAhead).toBe(false);
    const snap = await snapshot(w.id);
    expect(snap.bootAhead).toBeUndefined();
    expect(snap.bootAheadStopped).toContain('Boot hosts ahead was turned off when the server started: not enough memory to boot 40 environments ahead');
    expect(snap.bootAheadStopped).toContain('about 8 would fit');
    // Nothing booted ahead (no warm pool either: K = 0 here).
    await new Promise((r) => setTimeout(r, 200));
    expect(provider.created.length).toBe(created);
    // Turned on again by the instructor with fewer seats to fill: refused as before (the guard), the reason stays.
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true })).status).toBe(409);
    expect((await snapshot(w.id)).bootAheadStopped).toBeDefined();
    // With the memory back, on again: the server's note goes.
    memory = { availableMiB: 16_000, totalMiB: 20_000 };
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true })).status).toBe(200);
    expect((await snapshot(w.id)).bootAheadStopped).toBeUndefined();
    expect((await post(`workshops/${w.id}/end`, {})).status).toBe(200);
  });

  it('a restart with the memory still there keeps the option on', async () => {
    const w = (await (await post('workshops', { labId: 'demo', capacity: 3, minutes: 30, bootAhead: true })).json()) as WorkshopInfo;
    await stop();
    await start();
    expect(stack.store.workshops.get(w.id)?.bootAhead).toBe(true);
    expect((await snapshot(w.id)).bootAheadStopped).toBeUndefined();
    expect((await post(`workshops/${w.id}/end`, {})).status).toBe(200);
  });
});

describe('boot ahead: every free seat booted, kept across a restart, given back', () => {
  it('boots every seat, the dashboard counts them, a restart keeps the option and boots them again, unset and end give them back', async () => {
    const w = (await (await post('workshops', { labId: 'demo', capacity: 3, minutes: 30, bootAhead: true })).json()) as WorkshopInfo;
    expect(w.bootAhead).toBe(true);
    await expect.poll(async () => (await snapshot(w.id)).bootAhead).toEqual({ ready: 3, of: 3 });
    expect(provider.live.size).toBe(3);
    // A restart: the pool's environments of the dead process are destroyed, and booted again from the kept option.
    await stop();
    await start();
    expect(stack.store.workshops.get(w.id)?.bootAhead).toBe(true);
    await expect.poll(async () => (await snapshot(w.id)).bootAhead).toEqual({ ready: 3, of: 3 });
    expect(provider.live.size).toBe(3);
    // Off: the unused environments go.
    const off = (await (await post(`workshops/${w.id}/boot-ahead`, { on: false })).json()) as WorkshopInfo;
    expect(off.bootAhead).toBeUndefined();
    await expect.poll(() => provider.live.size).toBe(0);
    expect((await snapshot(w.id)).bootAhead).toBeUndefined();
    // On again, then the workshop ends: nothing left, and no more switching.
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true })).status).toBe(200);
    await expect.poll(() => provider.live.size).toBe(3);
    expect((await post(`workshops/${w.id}/end`, {})).status).toBe(200);
    await expect.poll(() => provider.live.size).toBe(0);
    expect((await post(`workshops/${w.id}/boot-ahead`, { on: true })).status).toBe(410);
  });
});
