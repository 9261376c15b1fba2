// `setup HOST` blocks on a real host, through the server `labwright serve` composes: a step's setup
// changes the host when the step opens, runs once (not again on reload, second tab or a new server
// on the same data folder — counted on the host), a failure reaches the page with host and reason,
// Retry runs it again, and a reset runs it again on the new hosts. One environment (one host).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage, StepSetupStatus } from '../../common/protocol.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { canRunHosts, sshRun, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { Config } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';
import { ownerLabel } from '../workspaces/workspace-manager.ts';

const TOKEN = 'instructor-secret-for-step-setup-host-test';
const LAB_ID = 'setup-drill';
/** In both setup blocks only: it must never reach the attendee. */
const MARKER = 'SETUP-ONLY-7c1e9b';
const LAB = `---
title: Setup drill
hosts: [host0]
services: { etcd: none, docker: false }
---
## Start from a prepared host

\`\`\`setup host0
echo run >> /root/setup-one.count  # ${MARKER}
echo prepared > /etc/setup-drill
\`\`\`

\`\`\`run host0
touch /tmp/step-one
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/step-one }
\`\`\`

## A step whose setup fails until it may run

\`\`\`setup host0
echo attempt >> /root/setup-two.count  # ${MARKER}
test -e /tmp/allow-setup || { echo "waiting for /tmp/allow-setup" >&2; exit 3; }
\`\`\`

\`\`\`run host0
touch /tmp/step-two
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/step-two }
\`\`\`
`;

/** Fails with what it waited for instead of timing out the whole test silently. */
function bounded<T>(p: Promise<T>, what: string, ms = 150_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe.skipIf(!canRunHosts)('step setup on a real host', () => {
  let dir: string;
  let config: Config;
  let local: LocalProvider;
  let composed: ComposedServer | undefined;
  let origin: string;
  const sockets: TestSocket[] = [];
  /** Every message any of the attendee's pages received, as sent. */
  const frames: string[] = [];
  /** The attendee's session, once joined: afterAll destroys whatever hosts it still has. */
  let sessionId: string | undefined;

  const start = async (): Promise<ComposedServer> => {
    composed = await composeServer({ config, provider: local, recheckMs: 0 });
    origin = new URL(composed.server.url).origin;
    return composed;
  };
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}): Promise<Response> => apiCall(composed!.server.url, p, init);
  const page = async (cookie: string): Promise<TestSocket> => {
    const s = await openHello({ serverUrl: composed!.server.url, origin, cookie, labId: LAB_ID, track: sockets });
    s.ws.on('message', (d: Buffer) => frames.push(d.toString('utf8')));
    return s;
  };
  /** The next status of the step's setup in that state; a wait that never ends names what it waited for. */
  const setupOf = (s: TestSocket, step: number, state: StepSetupStatus['state'], when = ''): Promise<StepSetupStatus> =>
    bounded(
      s.until((m: ServerMessage) => (m.type === 'step-setup' && m.setup.step === step && m.setup.state === state ? m.setup : undefined)),
      `step ${step + 1} setup ${state}${when ? ` ${when}` : ''}`,
    );
  /** Lines in a counter file on the host, read with the OpenSSH client (not the server's connection). */
  const count = async (env: Environment, file: string): Promise<number> => {
    const r = await sshRun(env, 'host0', `cat ${file} 2>/dev/null | wc -l`);
    expect(r.code).toBe(0);
    return Number(r.stdout.trim());
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-setup-host-'));
    mkdirSync(path.join(dir, 'labs', LAB_ID), { recursive: true });
    writeFileSync(path.join(dir, 'labs', LAB_ID, 'lab.md'), LAB);
    config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(dir, 'data'), labsDir: path.join(dir, 'labs'), poolSize: 0 });
    local = await testProvider();
    await start();
  });

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    // Whatever a failed test left of this file's hosts goes too.
    if (sessionId) for (const env of await local.list()) if (env.spec.owner === ownerLabel(sessionId, LAB_ID)) await local.destroy(env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs once per step and environment, reports a failure, retries, and runs again after a reset', { timeout: 400_000 }, async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const created = await api('workshops', { method: 'POST', cookie: instructor, body: { labId: LAB_ID, capacity: 2, minutes: 60 } });
    expect(created.status).toBe(201);
    const w = (await created.json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = composed!.stack.store.sessions.attendeesOf(w.id)[0]!;
    sessionId = session.id;

    // The page opens while the hosts are being made; step 1's setup runs once they are ready.
    const first = await page(ada);
    const env = await composed!.stack.workspaces.workspaces.whenReady(session.id, LAB_ID);
    await setupOf(first, 0, 'ready');
    expect((await sshRun(env, 'host0', 'cat /etc/setup-drill')).stdout.trim()).toBe('prepared');
    expect(await count(env, '/root/setup-one.count')).toBe(1);

    // A reload and a second tab find it done: it does not run again.
    first.close();
    const reload = await page(ada);
    expect(await setupOf(reload, 0, 'ready')).toEqual({ step: 0, state: 'ready' });
    const second = await page(ada);
    await setupOf(second, 0, 'ready');
    second.close();
    expect(await count(env, '/root/setup-one.count')).toBe(1);

    // Step 1 passes; step 2 opens and its setup fails: the page is told the host and reason.
    expect((await sshRun(env, 'host0', 'touch /tmp/step-one')).code).toBe(0);
    reload.send({ type: 'check-run', step: 0 });
    expect(await setupOf(reload, 1, 'failed', 'once step 1 passed')).toEqual({ step: 1, state: 'failed', host: 'host0', reason: 'exit 3: waiting for /tmp/allow-setup' });
    expect(await count(env, '/root/setup-two.count')).toBe(1);
    // Its checks wait: Check answers that the step could not be prepared.
    expect((await sshRun(env, 'host0', 'touch /tmp/step-two')).code).toBe(0);
    reload.send({ type: 'check-run', step: 1 });
    expect(await reload.until((m) => (m.type === 'error' && m.ref === 'check-run' ? m : undefined))).toMatchObject({ code: 'not-ready', message: expect.stringMatching(/could not be prepared/) as unknown });
    // The instructor's dashboard marks it.
    const snap = (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as { attendees: { name: string; setup?: StepSetupStatus }[] };
    expect(snap.attendees.find((a) => a.name === 'Ada')?.setup).toMatchObject({ step: 1, state: 'failed', host: 'host0' });
    // A failed setup is not run again by itself: not on a reload.
    reload.close();
    const again = await page(ada);
    await setupOf(again, 1, 'failed', 'on a reload');
    expect(await count(env, '/root/setup-two.count')).toBe(1);

    // A new server on the same data folder (a restart mid-workshop keeps the attendee's hosts).
    again.close();
    await composed!.close();
    await start();
    const afterRestart = await page(ada);
    expect(await setupOf(afterRestart, 1, 'failed', 'after a restart')).toMatchObject({ reason: 'exit 3: waiting for /tmp/allow-setup' });
    const adopted = await composed!.stack.workspaces.workspaces.whenReady(session.id, LAB_ID);
    expect(adopted.id).toBe(env.id);
    expect(await count(env, '/root/setup-one.count')).toBe(1);
    expect(await count(env, '/root/setup-two.count')).toBe(1);

    // Retry runs it again: still failing while the cause is there, then ready once it is fixed.
    afterRestart.send({ type: 'setup-retry', step: 1 });
    await setupOf(afterRestart, 1, 'running');
    await setupOf(afterRestart, 1, 'failed');
    expect(await count(env, '/root/setup-two.count')).toBe(2);
    expect((await sshRun(env, 'host0', 'touch /tmp/allow-setup')).code).toBe(0);
    afterRestart.send({ type: 'setup-retry', step: 1 });
    await setupOf(afterRestart, 1, 'ready');
    expect(await count(env, '/root/setup-two.count')).toBe(3);
    // Prepared: its checks run now (the file was made while it was failing).
    afterRestart.send({ type: 'check-run', step: 1 });
    expect(await afterRestart.until((m) => (m.type === 'check-report' && m.report.step === 1 ? m.report : undefined))).toMatchObject({ passed: true });
    expect(await count(env, '/root/setup-one.count')).toBe(1);

    // A reset: new hosts, back to step 1, whose setup runs again there (and step 2's does not).
    const reset = await api(`workshops/${w.id}/attendees/${session.attendeeId!}/reset`, { method: 'POST', cookie: instructor });
    expect(reset.status).toBe(204);
    const fresh = await page(ada);
    const newEnv = await composed!.stack.workspaces.workspaces.whenReady(session.id, LAB_ID);
    expect(newEnv.id).not.toBe(env.id);
    await setupOf(fresh, 0, 'ready');
    expect(await count(newEnv, '/root/setup-one.count')).toBe(1);
    expect(await count(newEnv, '/root/setup-two.count')).toBe(0);

    // Nothing of the setup blocks reached the attendee: not the lab the API serves, not a socket message.
    const view = await (await api(`labs/${LAB_ID}`, { cookie: ada })).text();
    expect(view).toContain('Start from a prepared host');
    expect(view).not.toContain(MARKER);
    expect(view).not.toContain('setup-one.count');
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.filter((f) => f.includes(MARKER) || f.includes('.count'))).toEqual([]);

    const ended = await api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
    expect(ended.status).toBe(200);
    expect((await local.list()).filter((e) => e.spec.owner === ownerLabel(session.id, LAB_ID))).toEqual([]);
  });
});
