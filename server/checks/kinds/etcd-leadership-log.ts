// What an etcd member's own log says about its last run: who it followed, at which raft term, when
// it was told to stop. Read from the journal lines systemd recorded for etcd.service (trusted fields).
/** The member's view of the cluster when it stopped (or at the end of its log, when killed). */
export interface LeadershipAtStop {
  /** This member's id, hex as raft logs it. */
  self: string;
  /** The leader it followed (hex id), or null when it had none. */
  leader: string | null;
  term: number;
  /** Whether the log shows the stop signal (a graceful stop), rather than just ending. */
  signalled: boolean;
  /**
   * Set when the member was no longer the leader at the stop signal but had led until an election
   * at most LEAD_GRACE_MS before it: the stop raced an election the attendee could not have seen.
   * Only known when the log lines carry journal timestamps (`journalctl -o short-unix`).
   */
  ledUntil?: { term: number; msBeforeStop: number };
}

/** How recently before its stop signal a member may have lost the leadership and still count as the stopped leader. */
export const LEAD_GRACE_MS = 3000;

const ELECTED = /raft\.node: ([0-9a-f]+) elected leader ([0-9a-f]+) at term (\d+)/;
const CHANGED = /raft\.node: ([0-9a-f]+) changed leader from [0-9a-f]+ to ([0-9a-f]+) at term (\d+)/;
const LOST = /raft\.node: ([0-9a-f]+) lost leader [0-9a-f]+ at term (\d+)/;
const SIGNAL = /received (?:terminated|interrupt) signal/;
/** `journalctl -o short-unix` starts each line with seconds since the epoch. */
const STAMP = /^(\d{9,11}(?:\.\d{1,9})?) /;

/**
 * Replays one run's log lines in order. A stopping leader hands its leadership over before it
 * exits (etcd 3.4 transfers leadership on SIGTERM), so the state that counts is the one at the
 * stop signal, not the last line. Null when the log has no leadership line at all.
 */
export function leadershipAtStop(log: string): LeadershipAtStop | null {
  let state: LeadershipAtStop | null = null;
  /** The last term this member led in, and when (ms) it stopped leading, if the lines are stamped. */
  let led: { term: number; lostAt: number | null } | null = null;
  for (const line of log.split('\n')) {
    const stamp = STAMP.exec(line);
    const at = stamp ? Math.round(Number(stamp[1]) * 1000) : null;
    if (SIGNAL.test(line)) {
      if (!state) continue;
      const signalled: LeadershipAtStop = { ...state, signalled: true };
      if (state.leader !== state.self && led && led.lostAt !== null && at !== null && at - led.lostAt <= LEAD_GRACE_MS) {
        signalled.ledUntil = { term: led.term, msBeforeStop: Math.max(0, at - led.lostAt) };
      }
      return signalled;
    }
    const elected = ELECTED.exec(line) ?? CHANGED.exec(line);
    const lost = elected ? null : LOST.exec(line);
    if (!elected && !lost) continue;
    const wasLeading = state !== null && state.leader === state.self;
    if (elected) state = { self: elected[1] ?? '', leader: elected[2] ?? null, term: Number(elected[3]), signalled: false };
    else if (lost) state = { self: lost[1] ?? '', leader: null, term: Number(lost[2]), signalled: false };
    if (!state) continue;
    if (state.leader === state.self) led = { term: state.term, lostAt: null };
    else if (wasLeading && led) led.lostAt = at;
  }
  return state;
}
