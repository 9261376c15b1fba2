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
}

const ELECTED = /raft\.node: ([0-9a-f]+) elected leader ([0-9a-f]+) at term (\d+)/;
const CHANGED = /raft\.node: ([0-9a-f]+) changed leader from [0-9a-f]+ to ([0-9a-f]+) at term (\d+)/;
const LOST = /raft\.node: ([0-9a-f]+) lost leader [0-9a-f]+ at term (\d+)/;
const SIGNAL = /received (?:terminated|interrupt) signal/;

/**
 * Replays one run's log lines in order. A stopping leader hands its leadership over before it
 * exits (etcd 3.4 transfers leadership on SIGTERM), so the state that counts is the one at the
 * stop signal, not the last line. Null when the log has no leadership line at all.
 */
export function leadershipAtStop(log: string): LeadershipAtStop | null {
  let state: LeadershipAtStop | null = null;
  for (const line of log.split('\n')) {
    if (SIGNAL.test(line)) {
      if (state) return { ...state, signalled: true };
      continue;
    }
    const elected = ELECTED.exec(line) ?? CHANGED.exec(line);
    if (elected) {
      state = { self: elected[1] ?? '', leader: elected[2] ?? null, term: Number(elected[3]), signalled: false };
      continue;
    }
    const lost = LOST.exec(line);
    if (lost) state = { self: lost[1] ?? '', leader: null, term: Number(lost[2]), signalled: false };
  }
  return state;
}
