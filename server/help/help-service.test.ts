// The help loop's rules without sockets, over the real SQLite store: a raised hand and the
// instructor's messages outlive a restart, the keyboard does not, and only the instructor
// session the attendee answered may type (until either side ends it or the last page closes).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { HelpService } from './help-service.ts';
import type { InstructorAsk } from './help-service.ts';

describe('HelpService', () => {
  let dir: string;
  let store: DurableStore;
  let changed: string[];
  let ada: { session: string; attendee: string };
  let workshopId: string;
  let instructor: string;

  const service = (): HelpService => new HelpService({ store, log: logger('help-test'), onWorkshopChange: (id) => changed.push(id) });
  const ask = (connectionId = 'dash-1'): InstructorAsk => ({ sessionId: instructor, connectionId, labId: 'demo', workshopId });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-help-service-'));
    store = openDurableStore(dir);
    changed = [];
    const w = store.workshops.create({ labId: 'demo', capacity: 5, expiresAt: Date.now() + 3_600_000 });
    workshopId = w.id;
    const joined = store.workshops.join(w.joinToken, 'Ada');
    if (!joined?.ok) throw new Error('join failed');
    ada = { session: joined.session.id, attendee: joined.session.attendeeId ?? '' };
    instructor = store.sessions.createSync('instructor').id;
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a raised hand and the answers survive a restart; an answer lowers the hand', () => {
    const help = service();
    help.raise(ada.session, '  etcd will not start  ');
    expect(help.rowOf(ada.session).hand).toMatchObject({ text: 'etcd will not start' });
    help.broadcast(ask(), 'Break until 11:00');
    store.close();
    store = openDurableStore(dir);
    const after = service();
    expect(after.rowOf(ada.session).hand?.text).toBe('etcd will not start');
    after.answer(ask(), ada.attendee, 'Look at the unit file');
    expect(after.state(ada.session)).toEqual({ messages: [expect.objectContaining({ text: 'Look at the unit file', kind: 'answer' }), expect.objectContaining({ text: 'Break until 11:00', kind: 'broadcast' })], keyboard: 'none' });
    expect(changed).toContain(workshopId);
  });

  it('raising again keeps the hand’s place in the queue', () => {
    let t = 1000;
    const help = new HelpService({ store, log: logger('help-test'), onWorkshopChange: () => undefined, now: () => t });
    help.raise(ada.session, undefined);
    t = 5000;
    help.raise(ada.session, 'now with words');
    expect(help.rowOf(ada.session).hand).toEqual({ raisedAt: 1000, text: 'now with words' });
    help.lower(ada.session);
    expect(help.rowOf(ada.session).hand).toBeUndefined();
  });

  it('the keyboard: asked, granted, typed by the asking instructor only, and back when the last page closes', () => {
    const help = service();
    const owners: string[] = [];
    help.onKeyboardChange((s) => owners.push(s));
    expect(() => help.requestKeyboard(ask(), ada.attendee)).toThrow(/no lab page open/);
    help.pages(ada.session, 1);
    help.pages(ada.session, 1);
    help.requestKeyboard(ask(), ada.attendee);
    expect(help.mayType(instructor, ada.session)).toBe(false);
    help.replyKeyboard(ada.session, true);
    expect(help.mayType(instructor, ada.session)).toBe(true);
    expect(help.mayType('another-instructor-session', ada.session)).toBe(false);
    expect(help.rowOf(ada.session).keyboard).toBe('granted');
    help.pages(ada.session, -1);
    expect(help.mayType(instructor, ada.session)).toBe(true);
    help.pages(ada.session, -1);
    expect(help.mayType(instructor, ada.session)).toBe(false);
    expect(owners.length).toBeGreaterThanOrEqual(3);
    // A restart forgets the keyboard: nothing is granted in a new process.
    help.pages(ada.session, 1);
    help.requestKeyboard(ask(), ada.attendee);
    help.replyKeyboard(ada.session, true);
    expect(service().mayType(instructor, ada.session)).toBe(false);
  });

  it('a denied request shows as denied; the instructor’s dashboard closing gives the keyboard back', () => {
    const help = service();
    help.pages(ada.session, 1);
    help.requestKeyboard(ask(), ada.attendee);
    help.replyKeyboard(ada.session, false);
    expect(help.rowOf(ada.session).keyboard).toBe('denied');
    expect(help.mayType(instructor, ada.session)).toBe(false);
    help.requestKeyboard(ask('dash-2'), ada.attendee);
    help.replyKeyboard(ada.session, true);
    help.connectionClosed('dash-1');
    expect(help.mayType(instructor, ada.session)).toBe(true);
    help.connectionClosed('dash-2');
    expect(help.mayType(instructor, ada.session)).toBe(false);
    expect(help.state(ada.session)?.keyboard).toBe('none');
  });
});
