// Hostile help-loop requests through the real server and sockets (a fake provider stands in for
// the hosts): an attendee acts only on their own hand, only the workshop's dashboard answers its
// attendees, a mirror types only while the attendee has handed over the keyboard, and a message
// is one capped line of plain text — each refusal an error reply, the server still serving after.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HelpState } from '../../common/help.ts';
import type { Lab } from '../../common/lab.ts';
import { toLabView } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { parseLab } from '../labs/parse-lab.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';

const TOKEN = 'instructor-secret-for-tests';
const SOURCE = `---
title: Helpful
hosts: [host0]
---
## Touch a file

\`\`\`check
file: { on: host0, path: /tmp/x }
\`\`\`
`;

function labOf(id: string): Lab {
  const { lab, problems } = parseLab(SOURCE, { id, file: `${id}/lab.md` });
  if (problems.some((p) => p.severity === 'error')) throw new Error(JSON.stringify(problems));
  return lab;
}

type Reply = Extract<ServerMessage, { type: 'error' }>;

describe('help loop: hostile requests', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  const sockets: TestSocket[] = [];
  const labs = { helpful: labOf('helpful'), other: labOf('other') };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-help-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, basePath: '/lw/' });
    const views = new StaticLabViews([toLabView(labs.helpful), toLabView(labs.other)]);
    const catalog = { get: (id: string) => (id === 'helpful' || id === 'other' ? { ok: true as const, lab: labs[id] } : undefined) };
    stack = createWorkshopStack({ config, catalog, labs: views, provider: new FakeProvider(), recheckMs: 0 });
    server = await startServer(config, { labs: views, ...stack.appDeps });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const origin = (): string => new URL(server.url).origin;
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(server.url, p, init);
  const socket = (cookie: string, labId: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: server.url, origin: origin(), cookie, labId, path: p, track: sockets });
  const errorOf = (s: TestSocket): Promise<Reply> => s.until((m) => (m.type === 'error' ? m : undefined));
  const helpOf = (s: TestSocket, pred: (h: HelpState) => boolean = () => true): Promise<HelpState> => s.until((m) => (m.type === 'help-state' && pred(m.help) ? m.help : undefined));
  const login = async (): Promise<string> => cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
  const snapshot = async (instructor: string, id: string) => (await (await api(`workshops/${id}`, { cookie: instructor })).json()) as DashboardSnapshot;

  async function workshop(instructor: string, labId: string, names: string[]): Promise<{ w: WorkshopInfo; attendees: { id: string; cookie: string }[] }> {
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId, capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const attendees = [];
    for (const name of names) {
      const cookie = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name } }));
      const snap = await snapshot(instructor, w.id);
      attendees.push({ id: snap.attendees.find((a) => a.name === name)!.id, cookie });
    }
    return { w, attendees };
  }

  it('an attendee raising another attendee’s hand, or answering as the instructor → refused; only their own hand goes up', async () => {
    const instructor = await login();
    const { w, attendees } = await workshop(instructor, 'helpful', ['Ada', 'Bob']);
    const [ada, bob] = attendees as [{ id: string; cookie: string }, { id: string; cookie: string }];
    const page = await socket(ada.cookie, 'helpful');
    await helpOf(page);
    // The hand message names nobody: a named attendee is not part of it.
    page.send({ type: 'hand-raise', text: 'help Bob', attendee: bob.id });
    expect(await errorOf(page)).toMatchObject({ code: 'invalid-message' });
    // The instructor's messages on the attendee's own page socket, and on the dashboard socket with her cookie.
    page.send({ type: 'help-answer', workshopId: w.id, attendee: bob.id, text: 'hi' });
    expect(await errorOf(page)).toMatchObject({ code: 'not-ready', ref: 'help-answer' });
    const dash = await socket(ada.cookie, 'helpful', 'dashboard-ws');
    dash.send({ type: 'help-broadcast', workshopId: w.id, text: 'free pizza' });
    expect(await errorOf(dash)).toMatchObject({ code: 'forbidden', ref: 'help-broadcast' });
    dash.send({ type: 'keyboard-request', workshopId: w.id, attendee: bob.id });
    expect(await errorOf(dash)).toMatchObject({ code: 'forbidden', ref: 'keyboard-request' });
    // An instructor's page cannot raise a hand either (there is no attendee behind it).
    const instructorPage = await socket(instructor, 'helpful');
    instructorPage.send({ type: 'hand-raise' });
    expect(await errorOf(instructorPage)).toMatchObject({ code: 'forbidden', ref: 'hand-raise' });
    page.send({ type: 'hand-raise', text: 'stuck on step 1' });
    expect((await helpOf(page, (h) => h.hand !== undefined)).hand).toMatchObject({ text: 'stuck on step 1' });
    const rows = (await snapshot(instructor, w.id)).attendees;
    expect(rows.find((r) => r.id === ada.id)?.hand).toMatchObject({ text: 'stuck on step 1' });
    expect(rows.find((r) => r.id === bob.id)?.hand).toBeUndefined();
    expect(stack.store.help.messages(w.id, stack.store.sessions.byAttendeeId(bob.id)!.id, 10)).toEqual([]);
  });

  it('a dashboard answering an attendee of another workshop or another lab → refused, nothing delivered', async () => {
    const instructor = await login();
    const mine = await workshop(instructor, 'helpful', ['Ada']);
    const theirs = await workshop(instructor, 'helpful', ['Eve']);
    const other = await workshop(instructor, 'other', ['Oz']);
    const evePage = await socket(theirs.attendees[0]!.cookie, 'helpful');
    await helpOf(evePage);
    evePage.send({ type: 'hand-raise' });
    await helpOf(evePage, (h) => h.hand !== undefined);
    const dash = await socket(instructor, 'helpful', 'dashboard-ws');
    dash.send({ type: 'help-answer', workshopId: mine.w.id, attendee: theirs.attendees[0]!.id, text: 'not for you' });
    expect(await errorOf(dash)).toMatchObject({ code: 'forbidden', message: 'no such attendee in this workshop', ref: 'help-answer' });
    dash.send({ type: 'hand-resolve', workshopId: mine.w.id, attendee: theirs.attendees[0]!.id });
    expect(await errorOf(dash)).toMatchObject({ code: 'forbidden', ref: 'hand-resolve' });
    dash.send({ type: 'help-broadcast', workshopId: other.w.id, text: 'wrong room' });
    expect(await errorOf(dash)).toMatchObject({ code: 'invalid-message', message: 'no such workshop on this lab' });
    // Eve's hand is still up and she was told nothing; Oz got no broadcast.
    expect((await snapshot(instructor, theirs.w.id)).attendees[0]?.hand).toBeDefined();
    expect(stack.store.help.messages(theirs.w.id, stack.store.sessions.byAttendeeId(theirs.attendees[0]!.id)!.id, 10)).toEqual([]);
    expect(stack.store.help.messages(other.w.id, stack.store.sessions.byAttendeeId(other.attendees[0]!.id)!.id, 10)).toEqual([]);
    // The right dashboard's answer reaches her page and lowers her hand: the server is still serving.
    const theirDash = await socket(instructor, 'helpful', 'dashboard-ws');
    theirDash.send({ type: 'help-answer', workshopId: theirs.w.id, attendee: theirs.attendees[0]!.id, text: 'look at step 1' });
    const told = await helpOf(evePage, (h) => h.messages.length > 0);
    expect(told).toMatchObject({ messages: [{ text: 'look at step 1', kind: 'answer' }] });
    expect(told.hand).toBeUndefined();
  });

  it('mirror input without consent, and after the attendee took the keyboard back → read-only error', async () => {
    const instructor = await login();
    const { w, attendees } = await workshop(instructor, 'helpful', ['Ada']);
    const ada = attendees[0]!;
    const page = await socket(ada.cookie, 'helpful');
    await helpOf(page);
    const dash = await socket(instructor, 'helpful', 'dashboard-ws');
    dash.send({ type: 'term-open', channel: 600, host: 'host0', cols: 80, rows: 24, mirrorOf: ada.id });
    await dash.until((m) => (m.type === 'term-opened' ? m : undefined));
    dash.send({ type: 'term-input', channel: 600, data: 'echo no-consent\r' });
    expect(await errorOf(dash)).toMatchObject({ code: 'read-only', ref: 'term-input' });
    // Allowing what nobody asked for grants nothing.
    page.send({ type: 'keyboard-reply', allow: true });
    expect(await errorOf(page)).toMatchObject({ code: 'invalid-message', ref: 'keyboard-reply' });
    dash.send({ type: 'term-input', channel: 600, data: 'echo still-no\r' });
    expect(await errorOf(dash)).toMatchObject({ code: 'read-only' });
    // Asked but not answered yet: still read-only.
    dash.send({ type: 'keyboard-request', workshopId: w.id, attendee: ada.id });
    await helpOf(page, (h) => h.keyboard === 'requested');
    dash.send({ type: 'term-input', channel: 600, data: 'echo not-yet\r' });
    expect(await errorOf(dash)).toMatchObject({ code: 'read-only' });
    page.send({ type: 'keyboard-reply', allow: true });
    await helpOf(page, (h) => h.keyboard === 'granted');
    // Granted: the input is taken (the next error is the one this probe provokes, not read-only).
    dash.send({ type: 'term-input', channel: 600, data: 'echo granted\r' });
    dash.send({ type: 'term-close', channel: 999 });
    expect(await errorOf(dash)).toMatchObject({ code: 'unknown-channel', ref: 'term-close' });
    expect((await snapshot(instructor, w.id)).attendees[0]?.keyboard).toBe('granted');
    page.send({ type: 'keyboard-take-back' });
    await helpOf(page, (h) => h.keyboard === 'none');
    dash.send({ type: 'term-input', channel: 600, data: 'echo after-revoke\r' });
    expect(await errorOf(dash)).toMatchObject({ code: 'read-only', ref: 'term-input' });
    // Granted again, then the attendee's page closes: the keyboard goes back with it.
    dash.send({ type: 'keyboard-request', workshopId: w.id, attendee: ada.id });
    await helpOf(page, (h) => h.keyboard === 'requested');
    page.send({ type: 'keyboard-reply', allow: true });
    await helpOf(page, (h) => h.keyboard === 'granted');
    page.ws.terminate();
    await page.closed;
    await expect.poll(async () => (await snapshot(instructor, w.id)).attendees[0]?.keyboard).toBeUndefined();
    dash.send({ type: 'term-input', channel: 600, data: 'echo page-gone\r' });
    expect(await errorOf(dash)).toMatchObject({ code: 'read-only' });
  });

  it('an oversized, multi-line or HTML message or hand → invalid-message, nothing stored', async () => {
    const instructor = await login();
    const { w, attendees } = await workshop(instructor, 'helpful', ['Ada']);
    const ada = attendees[0]!;
    const page = await socket(ada.cookie, 'helpful');
    await helpOf(page);
    const dash = await socket(instructor, 'helpful', 'dashboard-ws');
    for (const text of ['x'.repeat(501), '<img src=x onerror=alert(1)>', 'two\nlines', '</p><script>alert(1)</script>', '']) {
      dash.send({ type: 'help-answer', workshopId: w.id, attendee: ada.id, text });
      expect(await errorOf(dash)).toMatchObject({ code: 'invalid-message' });
      dash.send({ type: 'help-broadcast', workshopId: w.id, text });
      expect(await errorOf(dash)).toMatchObject({ code: 'invalid-message' });
    }
    for (const text of ['y'.repeat(201), '<b>help</b>', 'a\u0007bell']) {
      page.send({ type: 'hand-raise', text });
      expect(await errorOf(page)).toMatchObject({ code: 'invalid-message' });
    }
    const session = stack.store.sessions.byAttendeeId(ada.id)!.id;
    expect(stack.store.help.messages(w.id, session, 10)).toEqual([]);
    expect(stack.store.help.hand(session)).toBeUndefined();
    // Plain text with a less-than sign is fine, and arrives as the very same text.
    dash.send({ type: 'help-broadcast', workshopId: w.id, text: 'if a < b then run `ls -l > out` & check' });
    expect((await helpOf(page, (h) => h.messages.length > 0)).messages[0]).toMatchObject({ kind: 'broadcast', text: 'if a < b then run `ls -l > out` & check' });
  });
});
