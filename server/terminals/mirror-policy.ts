// Who may open a read-only mirror of whose terminal: nobody in solo mode; in workshop mode the
// instructor, of an attendee's terminal in the lab that attendee's workshop runs.
import type { Result } from '../../common/result.ts';
import { err, ok } from '../../common/result.ts';

export interface MirrorRequest {
  /** Session id of the connection asking. */
  requester: string;
  labId: string;
  /** What the browser sent as `mirrorOf` (an opaque reference; never trusted as a session id). */
  mirrorOf: string;
}

export interface MirrorGrant {
  /** Whose environment the mirror shows. */
  sessionId: string;
  labId: string;
}

export interface MirrorRefusal {
  code: 'forbidden';
  message: string;
}

export type MirrorPolicy = (req: MirrorRequest) => Result<MirrorGrant, MirrorRefusal>;

/** Solo mode has no instructors, so nobody may mirror anybody. */
export const soloMirrorPolicy: MirrorPolicy = () =>
  err({ code: 'forbidden', message: 'read-only mirrors are for workshop instructors; this server runs in solo mode' });

/** What the workshop policy needs to know, answered synchronously from the durable store. */
export interface MirrorDirectory {
  isInstructor(sessionId: string): boolean;
  /** The attendee behind a public attendee id, with the lab of their workshop. */
  attendee(attendeeId: string): { sessionId: string; labId: string } | undefined;
}

/**
 * Workshop mode. The server has one instructor credential, so every instructor session is the
 * instructor of every workshop on it; `mirrorOf` is an attendee id, never a session id.
 */
export const workshopMirrorPolicy =
  (dir: MirrorDirectory): MirrorPolicy =>
  (req) => {
    if (!dir.isInstructor(req.requester)) {
      return err({ code: 'forbidden', message: 'only the workshop instructor may watch an attendee’s terminal' });
    }
    const a = dir.attendee(req.mirrorOf);
    if (!a) return err({ code: 'forbidden', message: 'no such attendee' });
    if (a.labId !== req.labId) return err({ code: 'forbidden', message: 'that attendee works on another lab' });
    return ok({ sessionId: a.sessionId, labId: a.labId });
  };
