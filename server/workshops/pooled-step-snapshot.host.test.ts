// Hosts booted ahead carry their first step's "Reset this step" snapshot, taken while they waited in the pool,
// on real nspawn hosts through the server `labwright serve` composes: an attendee who claims them takes no new
// snapshot, Reset this step puts back what the step opened on (before and after a restart), and the pooled
// environment nobody claimed goes with its snapshot. Two environments of one host, no services.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WorkshopInfo } from '../../common/workshop.ts';
import { leftoversOf } from '../../provisioning/local/leftovers.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { POOL_OWNER } from '../../provisioning/pool-set.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import type { Config } from '../config.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';
import { STEP_SNAPSHOT } from '../workspaces/step-snapshots.ts';

const TOKEN = 'instructor-secret-for-pooled-snapshot-host-test';
const LAB_ID = 'pooled-reset';
const LAB = `---
title: Pooled reset
hosts: [host0]
services: { etcd: none, docker: false }
---
## Make a file

\`\`\`run host0
touch /root/made
\`\`\`

\`\`\`check
file: { on: host0, path: /root/made }
\`\`\`

## Then another

\`\`\`check
file: { on: host0, path: /root/other }
\`\`\`
`;

describe.skipIf(!canRunHosts)('first-step snapshots of hosts booted ahead, on real hosts', () => {
  let dir: string;
  let config: Config;
  let local: LocalProvider;
  let composed: ComposedServer | undefined;
  const sockets: TestSocket[] = [];
  /** Every environment this test saw: afterAll destroys what is left of them. */
  const seen = new Set<string>();

  const start = async (): Promise<ComposedServer> => (composed = await composeServer({ config, provider: local, recheckMs: 0 }));
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}): Promise<Response> => apiCall(composed!.server.url, p, init);
  const pooled = async (): Promise<Environment[]> => (await local.list()).filter((e) => e.spec.owner === POOL_OWNER && e.creatorPid === process.pid);
  /** The attendee's ready hosts, once her page has asked for them (the workspace is made as its hello is handled). */
  const hostsOf = async (sessionId: string): Promise<Environment> => {
    const workspaces = composed!.stack.workspaces.workspaces;
    await expect.poll(() => workspaces.get(sessionId, LAB_ID) !== undefined, { timeout: 30_000 }).toBe(true);
    return workspaces.whenReady(sessionId, LAB_ID);
  };
  const bootedAhead = async (workshopId: string, ready: number): Promise<void> => {
    await expect.poll(() => composed!.stack.service.snapshot(workshopId).bootAhead, { timeout: 180_000, interval: 500 }).toEqual({ ready, of: ready });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-pooled-snapshot-host-'));
    mkdirSync(path.join(dir, 'labs', LAB_ID), { recursive: true });
    writeFileSync(path.join(dir, 'labs', LAB_ID, 'lab.md'), LAB);
    config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(dir, 'data'), labsDir: path.join(dir, 'labs'), poolSize: 0 });
    local = await testProvider();
  });

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    for (const env of await local.list()) if (seen.has(env.id)) await local.destroy(env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a claim takes no snapshot, Reset this step puts back the pooled hosts (also after a restart), nothing is left', { timeout: 600_000 }, async () => {
    const snapshot = vi.spyOn(local, 'snapshot');
    await start();
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const created = await api('workshops', { method: 'POST', cookie: instructor, body: { labId: LAB_ID, capacity: 2, minutes: 60, bootAhead: true } });
    expect(created.status).toBe(201);
    const w = (await created.json()) as WorkshopInfo;

    // Both seats booted ahead, each counted only once its snapshot exists.
    await bootedAhead(w.id, 2);
    const ahead = await pooled();
    expect(ahead).toHaveLength(2);
    for (const e of ahead) seen.add(e.id);
    expect(snapshot).toHaveBeenCalledTimes(2);
    const takenAt = new Map<string, number | undefined>();
    for (const e of ahead) takenAt.set(e.id, (await local.snapshotInfo(e, STEP_SNAPSHOT))?.takenAt);
    expect([...takenAt.values()].every((t) => typeof t === 'number')).toBe(true);

    // Ada joins: she gets a pooled environment, and its snapshot is recorded for step 1 without taking one.
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = composed!.stack.store.sessions.attendeesOf(w.id)[0]!;
    await openHello({ serverUrl: composed!.server.url, origin: new URL(composed!.server.url).origin, cookie: ada, labId: LAB_ID, track: sockets });
    const env = await hostsOf(session.id);
    expect(takenAt.has(env.id)).toBe(true);
    await expect.poll(() => composed!.stack.store.stepSnapshots.get(env.id)?.takenAt, { timeout: 30_000 }).toBe(takenAt.get(env.id));
    expect(snapshot).toHaveBeenCalledTimes(2);

    // A change on the host, then Reset this step: the change is gone.
    expect((await sshRun(env, 'host0', 'echo changed > /root/changed && echo ok')).stdout.trim()).toBe('ok');
    expect(await composed!.stack.checks.module.resetStep(session.id, LAB_ID)).toMatchObject({ state: 'done' });
    expect((await sshRun(env, 'host0', 'test -e /root/changed && echo there || echo gone')).stdout.trim()).toBe('gone');

    // A restart keeps Ada's hosts and knows their snapshot; the pooled one nobody claimed went with its snapshot.
    const unclaimed = ahead.find((e) => e.id !== env.id)!;
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed!.close();
    expect(await leftoversOf(testConfig.dataDir, unclaimed.id)).toEqual([]);
    await start();
    await bootedAhead(w.id, 1);
    for (const e of await pooled()) seen.add(e.id);
    await openHello({ serverUrl: composed!.server.url, origin: new URL(composed!.server.url).origin, cookie: ada, labId: LAB_ID, track: sockets });
    expect((await hostsOf(session.id)).id).toBe(env.id);
    expect((await sshRun(env, 'host0', 'echo again > /root/changed && echo ok')).stdout.trim()).toBe('ok');
    expect(await composed!.stack.checks.module.resetStep(session.id, LAB_ID)).toMatchObject({ state: 'done' });
    expect((await sshRun(env, 'host0', 'test -e /root/changed && echo there || echo gone')).stdout.trim()).toBe('gone');

    // The workshop ends: Ada's hosts and the one booted ahead since go, snapshots and all.
    expect((await api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor })).status).toBe(200);
    await expect.poll(async () => (await local.list()).filter((e) => seen.has(e.id)), { timeout: 60_000 }).toEqual([]);
    for (const id of seen) expect(await leftoversOf(testConfig.dataDir, id)).toEqual([]);
  });
});
