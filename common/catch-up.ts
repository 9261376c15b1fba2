// Catch-up, as the dashboard and the API see it: the instructor brings an attendee (or the room) to
// step N by replaying the solutions of the steps before it on their hosts, as `labwright test` does.

/** Where an attendee's catch-up stands (shown in their dashboard row). */
export interface CatchUpStatus {
  /** 0-based: the steps before it are to be done. */
  toStep: number;
  state: 'running' | 'done' | 'failed';
  /** 0-based step being replayed (running), or the one that stopped it (failed). */
  step?: number;
  /** Why it failed, for the instructor. */
  message?: string;
  at: number;
}

/** The answer to one catch-up request, per attendee it was meant for. */
export interface CatchUpOutcome {
  attendee: string;
  name: string;
  /** Started (it goes on in the background; the dashboard shows it), or refused with why. */
  ok: boolean;
  message: string;
}
