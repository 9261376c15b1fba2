// The help loop's durable part: raised hands (one per attendee session) and the instructor's
// messages, so that a restarted server still shows who is waiting and what they were told.
import type { HelpMessage, RaisedHand } from '../../common/help.ts';
import type { Db } from './database.ts';

interface HandRow {
  session_id: string;
  raised_at: number;
  text: string | null;
}

interface MessageRow {
  at: number;
  text: string;
  session_id: string | null;
}

const toHand = (r: HandRow): RaisedHand => (r.text !== null && r.text !== '' ? { raisedAt: r.raised_at, text: r.text } : { raisedAt: r.raised_at });

export class HelpRecords {
  readonly #raise;
  readonly #lower;
  readonly #hand;
  readonly #hands;
  readonly #say;
  readonly #messages;

  constructor(db: Db) {
    // Raising again keeps the hand's place in the queue (raised_at) and only changes its words.
    this.#raise = db.prepare<[string, string, number, string | null]>(
      'INSERT INTO help_hands (session_id, workshop_id, raised_at, text) VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET text = excluded.text',
    );
    this.#lower = db.prepare<[string]>('DELETE FROM help_hands WHERE session_id = ?');
    this.#hand = db.prepare<[string], HandRow>('SELECT session_id, raised_at, text FROM help_hands WHERE session_id = ?');
    this.#hands = db.prepare<[string], HandRow>('SELECT session_id, raised_at, text FROM help_hands WHERE workshop_id = ? ORDER BY raised_at');
    this.#say = db.prepare<[string, string | null, number, string]>('INSERT INTO help_messages (workshop_id, session_id, at, text) VALUES (?, ?, ?, ?)');
    this.#messages = db.prepare<[string, string, number], MessageRow>(
      'SELECT at, text, session_id FROM help_messages WHERE workshop_id = ? AND (session_id IS NULL OR session_id = ?) ORDER BY id DESC LIMIT ?',
    );
  }

  /** Raises (or re-words) a session's hand; returns false when it was already raised with these words. */
  raise(sessionId: string, workshopId: string, at: number, text: string | undefined): boolean {
    const before = this.hand(sessionId);
    if (before && (before.text ?? '') === (text ?? '')) return false;
    this.#raise.run(sessionId, workshopId, at, text ?? null);
    return true;
  }

  /** Lowers a session's hand; returns whether it was raised. */
  lower(sessionId: string): boolean {
    return this.#lower.run(sessionId).changes > 0;
  }

  hand(sessionId: string): RaisedHand | undefined {
    const r = this.#hand.get(sessionId);
    return r ? toHand(r) : undefined;
  }

  /** The workshop's raised hands, longest waiting first. */
  hands(workshopId: string): { sessionId: string; hand: RaisedHand }[] {
    return this.#hands.all(workshopId).map((r) => ({ sessionId: r.session_id, hand: toHand(r) }));
  }

  /** Stores an instructor's message: to one attendee session, or (sessionId null) to the whole workshop. */
  say(workshopId: string, sessionId: string | null, at: number, text: string): void {
    this.#say.run(workshopId, sessionId, at, text);
  }

  /** The newest messages a session of the workshop was sent (its own and the broadcasts), newest first. */
  messages(workshopId: string, sessionId: string, limit: number): HelpMessage[] {
    return this.#messages.all(workshopId, sessionId, limit).map((r) => ({ at: r.at, text: r.text, kind: r.session_id === null ? 'broadcast' : 'answer' }));
  }
}
