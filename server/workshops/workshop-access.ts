// Who may open what in workshop mode: the hello check (an attendee only their workshop's lab,
// only while it runs; anonymous solo sessions only on a loopback-bound server) and the
// directory the terminal mirror policy asks.
import { CloseCode } from '../../common/protocol.ts';
import type { Session } from '../sessions/session-store.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { MirrorDirectory } from '../terminals/mirror-policy.ts';

export type HelloVerdict = { ok: true } | { ok: false; code: CloseCode; reason: string };

/** Solo mode (no login) is for a single user on their own machine. */
export const isLoopback = (bind: string): boolean => bind === 'localhost' || bind === '::1' || bind.startsWith('127.');

export function authorizeHello(store: DurableStore, opts: { soloAllowed: boolean; now?: () => number }) {
  return (session: Session, labId: string): HelloVerdict => {
    const rec = store.sessions.record(session.id);
    if (!rec) return { ok: false, code: CloseCode.Unauthorized, reason: 'unknown session: reload the page' };
    switch (rec.role) {
      case 'instructor':
        return { ok: true };
      case 'solo':
        return opts.soloAllowed
          ? { ok: true }
          : { ok: false, code: CloseCode.Unauthorized, reason: 'this server runs workshops: open the join link your instructor gave you' };
      case 'attendee': {
        const w = rec.workshopId ? store.workshops.get(rec.workshopId) : undefined;
        if (!w) return { ok: false, code: CloseCode.Unauthorized, reason: 'your workshop no longer exists' };
        if (w.endedAt !== undefined || w.expiresAt <= (opts.now ?? Date.now)()) {
          return { ok: false, code: CloseCode.WorkshopEnded, reason: 'This workshop has ended; its lab hosts were removed.' };
        }
        if (labId !== w.labId) return { ok: false, code: CloseCode.Unauthorized, reason: `your workshop runs the lab "${w.labId}"` };
        return { ok: true };
      }
    }
  };
}

export function mirrorDirectory(store: DurableStore): MirrorDirectory {
  return {
    isInstructor: (sessionId) => store.sessions.record(sessionId)?.role === 'instructor',
    attendee(attendeeId) {
      const a = store.sessions.byAttendeeId(attendeeId);
      const w = a?.workshopId ? store.workshops.get(a.workshopId) : undefined;
      return a && w && w.endedAt === undefined ? { sessionId: a.id, labId: w.labId } : undefined;
    },
  };
}
