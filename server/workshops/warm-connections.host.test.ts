// Hosts booted ahead for a workshop wait with their SSH connections made (the checks' and the terminals'),
// on real nspawn hosts through the server `labwright serve` composes: an attendee who claims them opens a
// terminal and runs a check without one new SSH login on her host (sshd's journal counts them), and the
// pooled environment nobody claimed closes its connections when it goes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkshopInfo } from '../../common/workshop.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { POOL_OWNER } from '../../provisioning/pool-set.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { canRunHosts, sshRun, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';

const TOKEN = 'instructor-secret-for-warm-connections-host-test';
const LAB_ID = 'warm-connections';
const LAB = `---
title: Warm connections
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
`;

/** SSH logins sshd accepted on host0 so far, read over a login of its own (counted too). */
const logins = async (env: Environment): Promise<number> =>
  Number((await sshRun(env, 'host0', 'journalctl -u ssh.service --no-pager -o cat | grep -c "Accepted publickey"')).stdout.trim());

describe.skipIf(!canRunHosts)('SSH connections made ahead for hosts booted ahead, on real hosts', () => {
  let dir: string;
  let local: LocalProvider;
  let composed: ComposedServer | undefined;
  const sockets: TestSocket[] = [];
  const seen = new Set<string>();
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}): Promise<Response> => apiCall(composed!.server.url, p, init);
  const pooled = async (): Promise<Environment[]> => (await local.list()).filter((e) => e.spec.owner === POOL_OWNER && e.creatorPid === process.pid);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-warm-connections-host-'));
    mkdirSync(path.join(dir, 'labs', LAB_ID), { recursive: true });
    writeFileSync(path.join(dir, 'labs', LAB_ID, 'lab.md'), LAB);
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(dir, 'data'), labsDir: path.join(dir, 'labs'), poolSize: 0 });
    local = await testProvider();
    composed = await composeServer({ config, provider: local, recheckMs: 0 });
  });

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    for (const env of await local.list()) if (seen.has(env.id)) await local.destroy(env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a claimed environment needs no new SSH login for its terminal and its check; an unclaimed one closes its connections', { timeout: 600_000 }, async () => {
    const { ssh, terminals } = composed!.stack.workspaces;
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const created = await api('workshops', { method: 'POST', cookie: instructor, body: { labId: LAB_ID, capacity: 2, minutes: 60, bootAhead: true } });
    expect(created.status).toBe(201);
    const w = (await created.json()) as WorkshopInfo;
    await expect.poll(() => composed!.stack.service.snapshot(w.id).bootAhead, { timeout: 180_000, interval: 500 }).toEqual({ ready: 2, of: 2 });
    const ahead = await pooled();
    expect(ahead).toHaveLength(2);
    for (const e of ahead) seen.add(e.id);
    // Both environments' host0: one checks' connection and one terminals' connection each.
    expect(ssh.connectionCount).toBe(2);
    expect(terminals.hub.connectionCount).toBe(2);

    // Logins on each so far, before anyone claims them (each count includes the login that reads it).
    const before = new Map<string, number>();
    for (const e of ahead) before.set(e.id, await logins(e));

    // Ada joins, opens host0's terminal and runs the step's check.
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = composed!.stack.store.sessions.attendeesOf(w.id)[0]!;
    const page = await openHello({ serverUrl: composed!.server.url, origin: new URL(composed!.server.url).origin, cookie: ada, labId: LAB_ID, track: sockets });
    const workspaces = composed!.stack.workspaces.workspaces;
    await expect.poll(() => workspaces.get(session.id, LAB_ID) !== undefined, { timeout: 30_000 }).toBe(true);
    const env = await workspaces.whenReady(session.id, LAB_ID);
    expect(seen.has(env.id)).toBe(true);
    page.send({ type: 'term-open', channel: 0, host: 'host0', cols: 80, rows: 24 });
    await page.until((m) => (m.type === 'term-state' && m.channel === 0 && m.state === 'connected' ? true : undefined));
    page.send({ type: 'check-run', step: 0 });
    const report = await page.until((m) => (m.type === 'check-report' && m.report.results.length > 0 ? m.report : undefined));
    expect(report.passed).toBe(false);
    expect(report.results.map((r) => r.status)).toEqual(['fail']);
    // Only the login that counts them again: the terminal and the check used the connections made ahead.
    expect(await logins(env)).toBe(before.get(env.id)! + 1);

    // The workshop ends: every pooled and claimed environment goes, and no connection to them is kept.
    expect((await api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor })).status).toBe(200);
    await expect.poll(async () => (await local.list()).filter((e) => seen.has(e.id)), { timeout: 60_000 }).toEqual([]);
    await expect.poll(() => [ssh.connectionCount, terminals.hub.connectionCount], { timeout: 30_000 }).toEqual([0, 0]);
  });
});
