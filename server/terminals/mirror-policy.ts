// Who may open a read-only mirror of whose terminal. Kept in this one function so the workshop
// issue changes exactly one place when instructors get to watch attendees.
import type { Result } from '../../common/result.ts';
import { err } from '../../common/result.ts';

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
