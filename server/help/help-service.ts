// The help loop: attendees raise and lower their own hand; the workshop's instructor answers one
// attendee, resolves a hand, messages the room, and asks to take an attendee's keyboard, which
// only that attendee can grant (from an open page) and either side can end. Hands and messages
// are in the store; the keyboard lives in memory, so a restart (or the attendee's last page
// closing) takes it back.
import type { HelpState, KeyboardState, RaisedHand } from '../../common/help.ts';
import { HELP_MESSAGES_SHOWN } from '../../common/help.ts';
import type { Logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { SessionRecord } from '../store/sqlite-session-store.ts';
import type { WorkshopRecord } from '../store/workshop-records.ts';

export class HelpError extends Error {
  override name = 'HelpError';
  constructor(
    readonly code: 'forbidden' | 'invalid-message' | 'not-ready',
    message: string,
  ) {
    super(message);
  }
}

export interface HelpServiceDeps {
  store: DurableStore;
  log: Logger;
  /** Something the workshop's dashboard shows changed (a hand, the keyboard). */
  onWorkshopChange(workshopId: string): void;
  now?: () => number;
}

interface Keyboard {
  state: 'requested' | 'granted';
  /** The instructor session that asked: only its mirrors may type. */
  instructor: string;
  /** The dashboard connection that asked: when it closes, the keyboard goes back. */
  connectionId: string;
}

/** Who is asking, on which dashboard connection, about which workshop of the page's lab. */
export interface InstructorAsk {
  sessionId: string;
  connectionId: string;
  labId: string;
  workshopId: string;
}

export class HelpService {
  readonly #keyboard = new Map<string, Keyboard>();
  readonly #denied = new Set<string>();
  readonly #pages = new Map<string, number>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #keyboardListeners = new Set<(attendeeSessionId: string) => void>();
  readonly #now: () => number;

  constructor(private readonly deps: HelpServiceDeps) {
    this.#now = deps.now ?? Date.now;
  }

  // ---- the attendee's side: always their own session ----

  raise(sessionId: string, text: string | undefined): void {
    const { w } = this.#attendee(sessionId);
    const words = text?.trim() || undefined;
    if (!this.deps.store.help.raise(sessionId, w.id, this.#now(), words)) return;
    this.deps.log.info({ workshop: w.id }, 'hand raised');
    this.#changed(sessionId, w.id);
  }

  lower(sessionId: string): void {
    const { w } = this.#attendee(sessionId);
    if (this.deps.store.help.lower(sessionId)) this.#changed(sessionId, w.id);
  }

  replyKeyboard(sessionId: string, allow: boolean): void {
    const { w } = this.#attendee(sessionId);
    const k = this.#keyboard.get(sessionId);
    if (k?.state !== 'requested') throw new HelpError('invalid-message', 'your instructor has not asked for your keyboard');
    if (allow) {
      k.state = 'granted';
      this.deps.log.info({ workshop: w.id }, 'keyboard granted to the instructor');
    } else {
      this.#keyboard.delete(sessionId);
      this.#denied.add(sessionId);
      this.deps.log.info({ workshop: w.id }, 'keyboard request denied');
    }
    this.#keyboardChanged(sessionId, w.id);
  }

  /** The attendee takes the keyboard back (or answers no by closing the prompt); a no-op when nobody has it. */
  takeBack(sessionId: string): void {
    const { w } = this.#attendee(sessionId);
    if (this.#endKeyboard(sessionId)) {
      this.deps.log.info({ workshop: w.id }, 'keyboard taken back by the attendee');
      this.#keyboardChanged(sessionId, w.id);
    }
  }

  /** A page of the session opened (+1) or closed (-1). With the last page gone, the keyboard goes back. */
  pages(sessionId: string, delta: 1 | -1): void {
    const n = (this.#pages.get(sessionId) ?? 0) + delta;
    if (n > 0) {
      this.#pages.set(sessionId, n);
      return;
    }
    this.#pages.delete(sessionId);
    if (this.#endKeyboard(sessionId)) {
      const w = this.deps.store.sessions.record(sessionId)?.workshopId;
      this.deps.log.info({ workshop: w }, 'keyboard back: the attendee’s last page closed');
      if (w) this.#keyboardChanged(sessionId, w);
    }
  }

  /** What the attendee's pages show; undefined for a session that is not a workshop's attendee. */
  state(sessionId: string): HelpState | undefined {
    const rec = this.deps.store.sessions.record(sessionId);
    if (rec?.role !== 'attendee' || !rec.workshopId) return undefined;
    const hand = this.deps.store.help.hand(sessionId);
    const k = this.#keyboard.get(sessionId);
    return {
      ...(hand ? { hand } : {}),
      messages: this.deps.store.help.messages(rec.workshopId, sessionId, HELP_MESSAGES_SHOWN),
      keyboard: k?.state ?? 'none',
    };
  }

  /** Calls `listener` when what a session's pages show changed; returns an unsubscribe. */
  subscribe(sessionId: string, listener: () => void): () => void {
    let set = this.#listeners.get(sessionId);
    if (!set) this.#listeners.set(sessionId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(sessionId);
    };
  }

  // ---- the instructor's side: a workshop of the dashboard's lab, one of its attendees ----

  answer(ask: InstructorAsk, attendeeId: string, text: string): void {
    const { a, w } = this.#target(ask, attendeeId);
    this.deps.store.help.say(w.id, a.id, this.#now(), text);
    this.deps.store.help.lower(a.id);
    this.deps.log.info({ workshop: w.id, attendee: attendeeId }, 'instructor answered');
    this.#changed(a.id, w.id);
  }

  resolve(ask: InstructorAsk, attendeeId: string): void {
    const { a, w } = this.#target(ask, attendeeId);
    if (this.deps.store.help.lower(a.id)) this.#changed(a.id, w.id);
  }

  /** A message to every attendee of the workshop; returns how many it was stored for. */
  broadcast(ask: InstructorAsk, text: string): number {
    const w = this.#workshop(ask);
    this.deps.store.help.say(w.id, null, this.#now(), text);
    const attendees = this.deps.store.sessions.attendeesOf(w.id);
    this.deps.log.info({ workshop: w.id, attendees: attendees.length }, 'instructor messaged everyone');
    for (const a of attendees) this.#notify(a.id);
    return attendees.length;
  }

  requestKeyboard(ask: InstructorAsk, attendeeId: string): void {
    const { a, w } = this.#target(ask, attendeeId);
    if ((this.#pages.get(a.id) ?? 0) === 0) throw new HelpError('not-ready', `${a.displayName ?? 'this attendee'} has no lab page open to ask`);
    const k = this.#keyboard.get(a.id);
    if (k && k.instructor === ask.sessionId && k.connectionId === ask.connectionId) return;
    // Asked again from another dashboard: the new request replaces the old (which can no longer type).
    this.#endKeyboard(a.id);
    this.#denied.delete(a.id);
    this.#keyboard.set(a.id, { state: 'requested', instructor: ask.sessionId, connectionId: ask.connectionId });
    this.deps.log.info({ workshop: w.id, attendee: attendeeId }, 'keyboard requested');
    this.#keyboardChanged(a.id, w.id);
  }

  releaseKeyboard(ask: InstructorAsk, attendeeId: string): void {
    const { a, w } = this.#target(ask, attendeeId);
    this.#denied.delete(a.id);
    if (this.#endKeyboard(a.id)) this.deps.log.info({ workshop: w.id, attendee: attendeeId }, 'keyboard given back by the instructor');
    this.#keyboardChanged(a.id, w.id);
  }

  /** A dashboard connection closed: the keyboards it held (or asked for) go back. */
  connectionClosed(connectionId: string): void {
    for (const [sessionId, k] of [...this.#keyboard]) {
      if (k.connectionId !== connectionId) continue;
      this.#keyboard.delete(sessionId);
      const w = this.deps.store.sessions.record(sessionId)?.workshopId;
      if (w) this.#keyboardChanged(sessionId, w);
    }
  }

  // ---- for the dashboard and the terminals ----

  /** The dashboard row's part: the raised hand and the keyboard. */
  rowOf(sessionId: string): { hand?: RaisedHand; keyboard?: Exclude<KeyboardState, 'none'> } {
    const hand = this.deps.store.help.hand(sessionId);
    const keyboard = this.#keyboard.get(sessionId)?.state ?? (this.#denied.has(sessionId) ? 'denied' : undefined);
    return { ...(hand ? { hand } : {}), ...(keyboard ? { keyboard } : {}) };
  }

  /** Whether this instructor session's mirror may type into this attendee's terminals now. */
  mayType(instructorSessionId: string, attendeeSessionId: string): boolean {
    const k = this.#keyboard.get(attendeeSessionId);
    return k?.state === 'granted' && k.instructor === instructorSessionId && (this.#pages.get(attendeeSessionId) ?? 0) > 0;
  }

  /** Calls `listener` with the attendee's session when the keyboard of it was granted or ended. */
  onKeyboardChange(listener: (attendeeSessionId: string) => void): () => void {
    this.#keyboardListeners.add(listener);
    return () => this.#keyboardListeners.delete(listener);
  }

  /** An attendee was reset (fresh hosts, clean slate): their hand goes down and the keyboard back. */
  forget(sessionId: string): void {
    this.deps.store.help.lower(sessionId);
    this.#denied.delete(sessionId);
    if (this.#endKeyboard(sessionId)) for (const l of this.#keyboardListeners) l(sessionId);
    this.#notify(sessionId);
  }

  // ---- internals ----

  /** The caller's own attendee record and running workshop, or a refusal. */
  #attendee(sessionId: string): { a: SessionRecord; w: WorkshopRecord } {
    const a = this.deps.store.sessions.record(sessionId);
    if (a?.role !== 'attendee' || !a.workshopId) throw new HelpError('forbidden', 'only an attendee of a workshop can ask for help');
    const w = this.deps.store.workshops.get(a.workshopId);
    if (!w || w.endedAt !== undefined || w.expiresAt <= this.#now()) throw new HelpError('forbidden', 'this workshop has ended');
    return { a, w };
  }

  #workshop(ask: InstructorAsk): WorkshopRecord {
    if (this.deps.store.sessions.record(ask.sessionId)?.role !== 'instructor') throw new HelpError('forbidden', 'answering needs the instructor login');
    const w = this.deps.store.workshops.get(ask.workshopId);
    if (!w || w.labId !== ask.labId) throw new HelpError('invalid-message', 'no such workshop on this lab');
    if (w.endedAt !== undefined || w.expiresAt <= this.#now()) throw new HelpError('forbidden', 'this workshop has ended');
    return w;
  }

  #target(ask: InstructorAsk, attendeeId: string): { a: SessionRecord; w: WorkshopRecord } {
    const w = this.#workshop(ask);
    const a = this.deps.store.sessions.attendeeOf(w.id, attendeeId);
    if (!a) throw new HelpError('forbidden', 'no such attendee in this workshop');
    return { a, w };
  }

  /** Ends the session's keyboard (requested or granted); returns whether there was one. */
  #endKeyboard(sessionId: string): boolean {
    return this.#keyboard.delete(sessionId);
  }

  #keyboardChanged(sessionId: string, workshopId: string): void {
    for (const l of this.#keyboardListeners) l(sessionId);
    this.#changed(sessionId, workshopId);
  }

  #changed(sessionId: string, workshopId: string): void {
    this.deps.onWorkshopChange(workshopId);
    this.#notify(sessionId);
  }

  #notify(sessionId: string): void {
    for (const l of this.#listeners.get(sessionId) ?? []) l();
  }
}
